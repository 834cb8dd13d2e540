package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// The SDK tags its metrics with different subsets of tags; each metric
// still has one label set, the tags given are kept and the rest empty; a
// second handler in the same process (a second client) shares the series.
func TestSDKHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewSDK(reg).WithTags(map[string]string{"namespace": "default", "task_queue": "escalate-cases"})
	h.WithTags(map[string]string{"activity_type": "RecordEvents"}).Counter("temporal_activity_execution_failed").Inc(2)
	h.Counter("temporal_activity_execution_failed").Inc(1)
	h.Counter("temporal_activity_execution_failed").Inc(-5) // never decreases
	h.WithTags(map[string]string{"worker_type": "ActivityWorker", "unknown_tag": "x"}).Gauge("temporal_worker_task_slots_available").Update(7)
	h.Timer("temporal_activity_schedule_to_start_latency").Record(30 * time.Millisecond)
	NewSDK(reg).Counter("temporal_activity_execution_failed").Inc(1)

	want := `
# HELP temporal_activity_execution_failed_total Temporal SDK counter temporal_activity_execution_failed_total.
# TYPE temporal_activity_execution_failed_total counter
temporal_activity_execution_failed_total{activity_type="",cause="",client_name="",failure_reason="",namespace="",nexus_operation="",nexus_service="",operation="",poller_type="",task_queue="",worker_type="",workflow_type=""} 1
temporal_activity_execution_failed_total{activity_type="",cause="",client_name="",failure_reason="",namespace="default",nexus_operation="",nexus_service="",operation="",poller_type="",task_queue="escalate-cases",worker_type="",workflow_type=""} 1
temporal_activity_execution_failed_total{activity_type="RecordEvents",cause="",client_name="",failure_reason="",namespace="default",nexus_operation="",nexus_service="",operation="",poller_type="",task_queue="escalate-cases",worker_type="",workflow_type=""} 2
# HELP temporal_worker_task_slots_available Temporal SDK gauge temporal_worker_task_slots_available.
# TYPE temporal_worker_task_slots_available gauge
temporal_worker_task_slots_available{activity_type="",cause="",client_name="",failure_reason="",namespace="default",nexus_operation="",nexus_service="",operation="",poller_type="",task_queue="escalate-cases",worker_type="ActivityWorker",workflow_type=""} 7
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"temporal_activity_execution_failed_total", "temporal_worker_task_slots_available"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "temporal_activity_schedule_to_start_latency_seconds"); n != 1 {
		t.Errorf("latency series: %d", n)
	}
	if got := promName("temporal.request-latency"); got != "temporal_request_latency" {
		t.Errorf("promName: %s", got)
	}
}
