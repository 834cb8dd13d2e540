package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/client"

	"escalate/api"
	"escalate/codec"
)

// Payload encryption, read apart from loadConfig because only dev, api and
// worker need it and dev may write a key file first.
//
//	CODEC_KEYS          id:base64key[,id:base64key...]: the first encrypts, all
//	                    decrypt; required by api and worker; dev generates one
//	                    into DEV_DIR/codec-keys when it is unset
//	TEMPORAL_UI_ORIGIN  the Temporal Web UI's origin, the one browser origin
//	                    allowed to call /codec (dev: http://127.0.0.1:$TEMPORAL_UI_PORT)

const codecKeysHelp = "CODEC_KEYS is required: the keys that encrypt what escalate sends to Temporal, " +
	"as id:base64key[,id:base64key...], the first encrypting (make one with " +
	"`echo \"$(date +%Y-%m):$(openssl rand -base64 32)\"`); see SECURITY.md"

// loadTemporalCodec sets cfg.codec from CODEC_KEYS (in dev, from
// DEV_DIR/codec-keys, made on first use, when it is unset) and the Web UI's
// origin for the codec endpoint.
func loadTemporalCodec(cfg *config, dev bool, log *slog.Logger) error {
	keys, source := env("CODEC_KEYS", ""), "CODEC_KEYS"
	if keys == "" {
		if !dev {
			return errors.New(codecKeysHelp)
		}
		path := filepath.Join(cfg.DevDir, "codec-keys")
		var err error
		if keys, err = devCodecKeys(path); err != nil {
			return fmt.Errorf("dev codec key %s: %w", path, err)
		}
		source = path
		log.Info("CODEC_KEYS unset: dev encrypts Temporal payloads with the key kept in " + path)
	}
	c, err := codec.Parse(keys)
	if err != nil {
		return fmt.Errorf("%s: %w", source, err)
	}
	cfg.codec = c
	log.Info("Temporal payloads are encrypted", "active_key", c.ActiveKeyID(), "keys", strings.Join(c.KeyIDs(), ","))

	origin := env("TEMPORAL_UI_ORIGIN", "")
	if origin == "" && dev {
		origin = fmt.Sprintf("http://127.0.0.1:%d", cfg.TemporalUIPort)
	}
	if origin != "" {
		list, err := api.ParseOrigins(origin)
		if err != nil || len(list) != 1 {
			return fmt.Errorf("TEMPORAL_UI_ORIGIN %q: give the Web UI's one origin, e.g. https://temporal.example.org (scheme, host, optional port)", origin)
		}
		cfg.temporalUIOrigin = list[0]
	}
	// Only under dev, whose Web UI has no sign-in and so cannot send a
	// token: the UI's own pages, from this machine, may use the codec.
	cfg.codecTrustsLocalUI = dev
	return nil
}

// devCodecKeys reads the dev key list from path, creating one random key on
// first use, so make dev needs no configuration. The id is random too: a
// lost file and a new key give "unknown key id", not a failed decryption.
func devCodecKeys(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	var id [4]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	keys, err := codec.GenerateKeys(fmt.Sprintf("dev-%x", id))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(keys+"\n"), 0o600); err != nil {
		return "", err
	}
	return keys, nil
}

// temporalConverters puts the codec on a client's options: payloads, and
// failure messages and stack traces, leave encrypted.
func temporalConverters(cfg config, o *client.Options) error {
	if cfg.codec == nil {
		return errors.New(codecKeysHelp)
	}
	o.DataConverter, o.FailureConverter = codec.Converters(cfg.codec)
	return nil
}

// devCodecEndpoint is the API's codec endpoint as the dev server's Web UI
// (in a browser on this machine) reaches it.
func devCodecEndpoint(cfg config) string {
	host, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/codec"
}
