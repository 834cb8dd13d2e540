package main

import (
	"testing"
	"time"

	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestPolledFrom(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	poller := func(identity string, ago time.Duration) *taskqueuepb.PollerInfo {
		return &taskqueuepb.PollerInfo{Identity: identity, LastAccessTime: timestamppb.New(now.Add(-ago))}
	}
	for _, tc := range []struct {
		name    string
		pollers []*taskqueuepb.PollerInfo
		want    bool
	}{
		{"this host, lately", []*taskqueuepb.PollerInfo{poller("1@c0ffee@", 30*time.Second)}, true},
		{"this host, long ago", []*taskqueuepb.PollerInfo{poller("1@c0ffee@", 3*time.Minute)}, false},
		{"another host only", []*taskqueuepb.PollerInfo{poller("1@beef@", time.Second)}, false},
		{"a host whose name contains this one", []*taskqueuepb.PollerInfo{poller("1@c0ffee2@", time.Second)}, false},
		{"among others", []*taskqueuepb.PollerInfo{poller("1@beef@", time.Second), poller("7@c0ffee@", time.Minute)}, true},
		{"no time", []*taskqueuepb.PollerInfo{{Identity: "1@c0ffee@"}}, false},
		{"none", nil, false},
	} {
		if got := polledFrom(tc.pollers, "c0ffee", now); got != tc.want {
			t.Errorf("%s: polledFrom = %v, want %v", tc.name, got, tc.want)
		}
	}
}
