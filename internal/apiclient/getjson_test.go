package apiclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestGetJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"n":1}`))
		case "/bad":
			_, _ = w.Write([]byte(`{`))
		default:
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	answerErr := errors.New("teapot")
	var gotWrite bool
	a := JSONAPI{Vendor: "Harbor", Name: "h/p/r", Limit: 1 << 10,
		Send: func(ctx context.Context, method, u string) (*http.Response, error) {
			req, err := http.NewRequestWithContext(ctx, method, u, nil)
			if err != nil {
				return nil, err
			}
			return srv.Client().Do(req)
		},
		AnswerError: func(op string, write bool, resp *http.Response) error {
			gotWrite = write
			Discard(resp)
			return answerErr
		}}
	var v struct{ N int }
	if _, err := GetJSON(context.Background(), a, "listing", srv.URL+"/ok", false, &v); err != nil || v.N != 1 {
		t.Fatalf("GetJSON(/ok) = %v, %+v", err, v)
	}
	if _, err := GetJSON(context.Background(), a, "listing", srv.URL+"/other", true, &v); err != answerErr || !gotWrite {
		t.Errorf("GetJSON(/other) = %v (write %v), want the AnswerError's", err, gotWrite)
	}
	_, err := GetJSON(context.Background(), a, "listing", srv.URL+"/bad?x=1", false, &v)
	if want := "listing h/p/r on Harbor: decoding /bad?x=1: unexpected EOF"; err == nil || err.Error() != want {
		t.Errorf("GetJSON(/bad) = %v, want %q", err, want)
	}
	a.DecodePath = URLPath
	_, err = GetJSON(context.Background(), a, "listing", srv.URL+"/bad?x=1", false, &v)
	if want := "listing h/p/r on Harbor: decoding /bad: unexpected EOF"; err == nil || err.Error() != want {
		t.Errorf("GetJSON(/bad) with URLPath = %v, want %q", err, want)
	}
	a.DecodePath = AnswerOfGET
	_, err = GetJSON(context.Background(), a, "listing", srv.URL+"/bad?x=1", false, &v)
	if want := "listing h/p/r on Harbor: decoding the answer of GET /bad: unexpected EOF"; err == nil || err.Error() != want {
		t.Errorf("GetJSON(/bad) with AnswerOfGET = %v, want %q", err, want)
	}
	sendErr := errors.New("said all")
	b := a
	b.Send = func(context.Context, string, string) (*http.Response, error) { return nil, sendErr }
	b.SendError = AsSent
	if _, err = GetJSON(context.Background(), b, "listing", srv.URL+"/ok", false, &v); err != sendErr {
		t.Errorf("GetJSON with AsSent = %v, want Send's error as it is", err)
	}
	_, err = GetJSON(context.Background(), a, "listing", "http://[::1", false, &v)
	if err == nil || err.Error()[:24] != "listing h/p/r on Harbor:" {
		t.Errorf("GetJSON(bad URL) = %v", err)
	}
}
