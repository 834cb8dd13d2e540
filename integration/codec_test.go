package integration

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"escalate/codec"
)

// testCodecKeys encrypt everything the tests' clients and workers send to
// Temporal, as CODEC_KEYS does in a deployment. A fixed test-only key, so
// the crashing worker, another process, reads the same histories.
const testCodecKeys = "it-2026:ZXNjYWxhdGUtaW50ZWdyYXRpb24tdGVzdC1rZXktMzI="

// testUIOrigin is the Web UI origin the test API allows at /codec.
const testUIOrigin = "http://ui.escalate.test"

var testCodec = func() *codec.Codec {
	c, err := codec.Parse(testCodecKeys)
	if err != nil {
		panic(err)
	}
	return c
}()

// withCodec sets the codec's converters on client options, as dialTemporal
// does for every client of escalate.
func withCodec(o *client.Options) *client.Options {
	o.DataConverter, o.FailureConverter = codec.Converters(testCodec)
	return o
}

// decodePayloads decrypts every payload in msg (a history event, say) in
// place, as the Web UI does through the codec endpoint.
func decodePayloads(msg proto.Message) error {
	return proxy.VisitPayloads(context.Background(), msg, proxy.VisitPayloadsOptions{
		Visitor: func(_ *proxy.VisitPayloadsContext, p []*commonpb.Payload) ([]*commonpb.Payload, error) {
			return testCodec.Decode(p)
		},
	})
}
