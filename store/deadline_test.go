package store_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"escalate/store"
	"escalate/workflows"
)

// hangProxy forwards connections to PostgreSQL until hang is called; from
// then on it accepts connections and forwards nothing, as a database that
// stops answering does.
type hangProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	hung   bool
	// cut closes every connection, so that closing the store does not wait
	// on hung ones.
	cut func()
}

func startHangProxy(t *testing.T, target string) *hangProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &hangProxy{ln: ln, target: target}
	var conns []net.Conn
	var cmu sync.Mutex
	p.cut = func() {
		ln.Close()
		cmu.Lock()
		defer cmu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}
	t.Cleanup(p.cut)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cmu.Lock()
			conns = append(conns, c)
			cmu.Unlock()
			if p.isHung() {
				go p.pipe(nil, c)
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			cmu.Lock()
			conns = append(conns, up)
			cmu.Unlock()
			go p.pipe(up, c)
			go p.pipe(c, up)
		}
	}()
	return p
}

func (p *hangProxy) hang() { p.mu.Lock(); p.hung = true; p.mu.Unlock() }

func (p *hangProxy) isHung() bool { p.mu.Lock(); defer p.mu.Unlock(); return p.hung }

func (p *hangProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && dst != nil && !p.isHung() {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// openThrough opens the store as the application through a proxy to the
// test's database.
func openThrough(t *testing.T, adminDSN string, opts store.Options) (*store.Store, *hangProxy) {
	t.Helper()
	u, err := url.Parse(appURL(t, adminDSN))
	if err != nil {
		t.Fatal(err)
	}
	p := startHangProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	opts.Keys = testKeys(t, testKey)
	st, err := store.Open(context.Background(), u.String(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	t.Cleanup(p.cut) // before st.Close
	return st, p
}

// Every store call has a deadline: with PostgreSQL taking connections but
// answering nothing, each one fails within its deadline with a
// *store.TimeoutError, whatever it is and whether or not it had a
// connection already.
func TestEveryStoreCallHasADeadline(t *testing.T) {
	admin := testDatabase(t)
	const timeout, recordTimeout = 500 * time.Millisecond, 800 * time.Millisecond
	st, p := openThrough(t, admin, store.Options{Timeout: timeout, RecordTimeout: recordTimeout})
	p.hang()

	sv := reflect.ValueOf(st)
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	errType := reflect.TypeOf((*error)(nil)).Elem()
	var wg sync.WaitGroup
	called := 0
	for i := 0; i < sv.NumMethod(); i++ {
		m := sv.Type().Method(i)
		mt := m.Type
		if mt.NumIn() < 2 || mt.In(1) != ctxType || mt.NumOut() == 0 || mt.Out(mt.NumOut()-1) != errType {
			continue // not a call to PostgreSQL (Close)
		}
		// A method without a deadline of its own would hang forever: the
		// test's own, much later, ends it and shows it.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		args := []reflect.Value{reflect.ValueOf(ctx)}
		for j := 2; j < mt.NumIn(); j++ {
			args = append(args, reflect.Zero(mt.In(j)))
		}
		called++
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			out := sv.Method(i).Call(args)
			took := time.Since(start)
			err, _ := out[len(out)-1].Interface().(error)
			var te *store.TimeoutError
			if !errors.As(err, &te) {
				t.Errorf("%s with PostgreSQL hung: %v, want a *store.TimeoutError", m.Name, err)
				return
			}
			limit := timeout
			if m.Name == "RecordEvents" {
				limit = recordTimeout
			}
			if took > limit+time.Second {
				t.Errorf("%s with PostgreSQL hung took %v, want about %v", m.Name, took, limit)
			}
		}()
	}
	wg.Wait()
	if called < 20 {
		t.Fatalf("only %d store calls found", called)
	}
}

// A timed-out call that may have reached PostgreSQL and changes data says
// so; one that only reads never does.
func TestTimeoutSaysWhetherAWriteMayHaveHappened(t *testing.T) {
	admin := testDatabase(t)
	st, p := openThrough(t, admin, store.Options{Timeout: 500 * time.Millisecond, RecordTimeout: 500 * time.Millisecond})
	ctx := context.Background()
	in := sampleInput(1, workflows.StatusOpen, workflows.Event{Seq: 1, At: time.Now(), Type: workflows.EventOpened, Stage: 1, By: "Hana", Text: "o"})
	if _, err := st.RecordEvents(ctx, in, render); err != nil {
		t.Fatal(err)
	}
	p.hang()
	// The pool's connection is open: the write is sent, and lost.
	_, err := st.RecordEvents(ctx, sampleInput(2, workflows.StatusOpen,
		workflows.Event{Seq: 2, At: time.Now(), Type: workflows.EventNote, Stage: 1, By: "Sam", Text: "n"}), render)
	var te *store.TimeoutError
	if !errors.As(err, &te) || !te.MayHaveWritten {
		t.Fatalf("write with PostgreSQL hung: %v, want a timeout that may have written", err)
	}
	_, err = st.GetCase(ctx, in.Ref)
	if !errors.As(err, &te) || te.MayHaveWritten {
		t.Fatalf("read with PostgreSQL hung: %v, want a timeout that wrote nothing", err)
	}
}

// A call that could not even connect sent nothing: a write that timed out
// connecting says nothing was written. Connecting has its own deadline
// (connect_timeout), which may run out before the call's.
func TestConnectTimeoutWroteNothing(t *testing.T) {
	admin := testDatabase(t)
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	st, p := openThrough(t, u.String(), store.Options{Timeout: 5 * time.Second})
	p.hang()
	// The connection Open made is idle for over a second: the pool pings
	// it before use, finds it dead, and connects anew.
	time.Sleep(1100 * time.Millisecond)
	start := time.Now()
	err = st.MarkNotification(context.Background(), 1, store.NoteSent, nil)
	var te *store.TimeoutError
	if !errors.As(err, &te) || te.MayHaveWritten {
		t.Fatalf("write that could not connect: %v, want a timeout that wrote nothing", err)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Fatalf("took %v", took)
	}
}
