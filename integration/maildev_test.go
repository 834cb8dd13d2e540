package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mailDev is a MailDev 2 mail catcher (make test installs it under .dev/):
// the integration tests mail through it and read what it caught from its
// REST API, as a newcomer reads it in its web page under make dev.
type mailDev struct {
	smtpAddr string
	webURL   string
}

// caughtMail is one message as MailDev's /email API shows it.
type caughtMail struct {
	ID        string            `json:"id"`
	Subject   string            `json:"subject"`
	Text      string            `json:"text"`
	HTML      string            `json:"html"`
	MessageID string            `json:"messageId"`
	Headers   map[string]string `json:"headers"`
	To        []struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"to"`
	From []struct {
		Address string `json:"address"`
	} `json:"from"`
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startMailDev(t *testing.T) *mailDev {
	t.Helper()
	bin, err := filepath.Abs(env("MAILDEV", "../.dev/maildev/node_modules/.bin/maildev"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("MailDev is needed at %s (make test installs it with npm): %v", bin, err)
	}
	smtpPort, webPort := freePort(t), freePort(t)
	cmd := exec.Command(bin, "--ip", "127.0.0.1", "--smtp", fmt.Sprint(smtpPort), "--web", fmt.Sprint(webPort),
		"--mail-directory", t.TempDir(), "--silent")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logPath := filepath.Join(t.TempDir(), "maildev.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start MailDev: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		logFile.Close()
	})
	m := &mailDev{smtpAddr: fmt.Sprintf("127.0.0.1:%d", smtpPort), webURL: fmt.Sprintf("http://127.0.0.1:%d", webPort)}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.webURL + "/email")
		if err == nil {
			resp.Body.Close()
			if c, err := net.Dial("tcp", m.smtpAddr); err == nil {
				c.Close()
				return m
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("MailDev did not start within 30s: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Messages returns every mail MailDev has caught.
func (m *mailDev) Messages(t *testing.T) []caughtMail {
	t.Helper()
	resp, err := http.Get(m.webURL + "/email")
	if err != nil {
		t.Fatalf("MailDev /email: %v", err)
	}
	defer resp.Body.Close()
	var out []caughtMail
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("MailDev /email: %v", err)
	}
	return out
}
