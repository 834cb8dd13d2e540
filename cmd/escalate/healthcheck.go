package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/sdk/client"

	"escalate/workflows"
)

// runHealthcheck is a container's health check (docker-compose.yml), so
// that the image needs no curl: `healthcheck api` asks this host's API for
// /healthz; `healthcheck worker` asks Temporal whether a worker on this host
// has lately polled the cases' task queue for workflow and activity tasks.
// It prints one line and returns an error when unhealthy.
func runHealthcheck(ctx context.Context, cfg config, what string) error {
	ctx, cancel := context.WithTimeout(ctx, 8*time.Second)
	defer cancel()
	switch what {
	case "api":
		return apiHealthy(ctx, cfg.HTTPAddr)
	case "worker":
		return workerHealthy(ctx, cfg)
	default:
		return fmt.Errorf("healthcheck: want api or worker, not %q", what)
	}
}

func apiHealthy(ctx context.Context, httpAddr string) error {
	host, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR %q: %w", httpAddr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("API %s: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("API %s: %s", url, resp.Status)
	}
	fmt.Println("api healthy:", url)
	return nil
}

func workerHealthy(ctx context.Context, cfg config) error {
	host, err := os.Hostname()
	if err != nil {
		return err
	}
	addr := cfg.TemporalAddress
	if addr == "" {
		addr = fmt.Sprintf("127.0.0.1:%d", cfg.TemporalPort)
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Namespace: cfg.TemporalNamespace, Identity: "healthcheck@" + host})
	if err != nil {
		return fmt.Errorf("connect to Temporal at %s: %w", addr, err)
	}
	defer c.Close()
	for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
		resp, err := c.DescribeTaskQueue(ctx, workflows.TaskQueue, typ)
		if err != nil {
			return fmt.Errorf("describe task queue %s: %w", workflows.TaskQueue, err)
		}
		if !polledFrom(resp.GetPollers(), host, time.Now()) {
			return fmt.Errorf("no worker on %s has polled %s (%s tasks) in the last %s", host, workflows.TaskQueue, typ, workerPollFresh)
		}
	}
	fmt.Println("worker healthy: polling", workflows.TaskQueue, "from", host)
	return nil
}

// workerPollFresh matches the API's readiness: an idle long poll lasts up
// to a minute, so a live worker has polled within two.
const workerPollFresh = 2 * time.Minute

// polledFrom reports whether a poller on host polled lately. The SDK names
// a worker "<pid>@<hostname>@" unless told otherwise, and a container's
// hostname is its own.
func polledFrom(pollers []*taskqueuepb.PollerInfo, host string, now time.Time) bool {
	for _, p := range pollers {
		if !strings.Contains(p.GetIdentity(), "@"+host+"@") {
			continue
		}
		if t := p.GetLastAccessTime(); t != nil && now.Sub(t.AsTime()) < workerPollFresh {
			return true
		}
	}
	return false
}
