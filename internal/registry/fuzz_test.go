package registry

import (
	"strings"
	"testing"
)

// maxErrorLen bounds an error message whatever the input: the fixed text
// plus at most maxEcho bytes of the input and a short part of it, each
// quoted (up to four bytes per input byte).
const maxErrorLen = 1024

func FuzzHostKey(f *testing.F) {
	for _, s := range []string{
		"registry.example.com", "registry.example.com:5000", "https://index.docker.io/v1/",
		"http://[::1]:5000/v2/", "ghcr.io/owner/app", "user@host", "ftp://x", "host:", "[fe80::1%25eth0]",
		"HTTPS://Docker.IO", "a.io/b://c", " docker.io\n", "host:00080", strings.Repeat("a.", 130) + "io",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, err := HostKey(in)
		if err != nil {
			if n := len(err.Error()); n > maxErrorLen {
				t.Fatalf("error is %d bytes long: %.200s...", n, err)
			}
			if len(in) > 2*maxEcho && strings.Contains(err.Error(), in[:2*maxEcho]) {
				t.Fatalf("error echoes more than %d bytes of the input", 2*maxEcho)
			}
			return
		}
		again, err := HostKey(key)
		if err != nil {
			t.Fatalf("HostKey(%q) = %q, which it rejects: %v", in, key, err)
		}
		if again != key {
			t.Fatalf("HostKey(%q) = %q but HostKey(%q) = %q", in, key, key, again)
		}
		if key != strings.ToLower(key) || strings.ContainsAny(key, "/@?# ") {
			t.Fatalf("HostKey(%q) = %q is not a lower-case host[:port]", in, key)
		}
		_ = DetectKind(key, nil)
	})
}

func FuzzParseRepository(f *testing.F) {
	for _, s := range []string{
		"nginx", "user/app", "registry.example.com/group/app", "localhost:5000/app", "https://ghcr.io/o/a",
		"app:1.0", "app@sha256:00", "registry.example.com", "a..b/c", "MyOrg/app", "[::1]:5000/app",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app", "user@host/app", "http://host/app", "a/b/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRepository(in, "", nil)
		if err != nil {
			if n := len(err.Error()); n > maxErrorLen {
				t.Fatalf("error is %d bytes long: %.200s...", n, err)
			}
			if len(in) > 2*maxEcho && strings.Contains(err.Error(), in[:2*maxEcho]) {
				t.Fatalf("error echoes more than %d bytes of the input", 2*maxEcho)
			}
			return
		}
		if r.Kind == "" || r.KindSource != KindSourceDetected {
			t.Fatalf("ParseRepository(%q) has kind %q from %q", in, r.Kind, r.KindSource)
		}
		if key, err := HostKey(r.Host); err != nil || key != r.Host {
			t.Fatalf("ParseRepository(%q).Host = %q, not a host key (%q, %v)", in, r.Host, key, err)
		}
		again, err := ParseRepository(r.Name(), "", nil)
		if err != nil {
			t.Fatalf("ParseRepository(%q).Name() = %q, which it rejects: %v", in, r.Name(), err)
		}
		if again.Host != r.Host || again.Path != r.Path {
			t.Fatalf("ParseRepository(%q) = %s but ParseRepository(%q) = %s", in, r.Name(), r.Name(), again.Name())
		}
	})
}
