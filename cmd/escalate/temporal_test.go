package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeEnv is an environment for the Temporal client settings.
type fakeEnv map[string]string

func (f fakeEnv) LookupEnv(k string) (string, bool) { v, ok := f[k]; return v, ok }
func (f fakeEnv) Environ() []string {
	var out []string
	for k, v := range f {
		out = append(out, k+"="+v)
	}
	return out
}

// writeClientCert writes a self-signed client certificate and its key.
func writeClientCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "escalate-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// The Temporal client reads its connection the way Temporal's tools do:
// mTLS client certificates for a self-hosted cluster, an API key for
// Temporal Cloud; escalate's resolved address and namespace win.
func TestTemporalOptionsFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeClientCert(t, dir)
	none := filepath.Join(dir, "no-config.toml")

	plain, err := temporalOptions("127.0.0.1:7233", "default", fakeEnv{"TEMPORAL_CONFIG_FILE": none})
	if err != nil {
		t.Fatal(err)
	}
	if plain.HostPort != "127.0.0.1:7233" || plain.Namespace != "default" || plain.ConnectionOptions.TLS != nil || plain.Credentials != nil {
		t.Errorf("plain: %+v", plain)
	}

	mtls, err := temporalOptions("temporal.internal:7233", "safeguarding", fakeEnv{"TEMPORAL_CONFIG_FILE": none,
		"TEMPORAL_TLS_CLIENT_CERT_PATH": cert, "TEMPORAL_TLS_CLIENT_KEY_PATH": key, "TEMPORAL_ADDRESS": "ignored:1"})
	if err != nil {
		t.Fatal(err)
	}
	if mtls.HostPort != "temporal.internal:7233" || mtls.Namespace != "safeguarding" || mtls.ConnectionOptions.TLS == nil ||
		mtls.ConnectionOptions.TLS.GetClientCertificate == nil && len(mtls.ConnectionOptions.TLS.Certificates) != 1 {
		t.Errorf("mTLS: host %s ns %s tls %+v", mtls.HostPort, mtls.Namespace, mtls.ConnectionOptions.TLS)
	}

	cloud, err := temporalOptions("ns.acct.tmprl.cloud:7233", "ns.acct", fakeEnv{"TEMPORAL_CONFIG_FILE": none, "TEMPORAL_API_KEY": "secret-key"})
	if err != nil {
		t.Fatal(err)
	}
	if cloud.Credentials == nil || cloud.ConnectionOptions.TLS == nil {
		t.Errorf("API key: credentials %v tls %v (an API key implies TLS)", cloud.Credentials, cloud.ConnectionOptions.TLS)
	}

	_, err = temporalOptions("x:7233", "default", fakeEnv{"TEMPORAL_CONFIG_FILE": none,
		"TEMPORAL_TLS_CLIENT_CERT_PATH": filepath.Join(dir, "missing.pem"), "TEMPORAL_TLS_CLIENT_KEY_PATH": key})
	if err == nil || !strings.Contains(err.Error(), "Temporal client settings") {
		t.Errorf("a missing certificate: %v", err)
	}
}
