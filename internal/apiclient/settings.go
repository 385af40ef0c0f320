package apiclient

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Settings are what every native API client is configured with; a client
// embeds them and its functional options set them through a Setting.
type Settings struct {
	Base        *url.URL          // the API's base URL
	RT          http.RoundTripper // nil: the package's shared transport
	UA          string            // User-Agent
	PageSize    int               // of listings
	MaxPageSize int               // the largest PageSize the API takes
	MaxAge      time.Duration     // how long a listing answers lookups
	Now         func() time.Time  // time.Now, or a test's clock
}

// Setting changes Settings; a client's Option applies it.
type Setting func(*Settings) error

// BaseURL sets Base; api names the API in the error ("Docker Hub API").
func BaseURL(api, base string) Setting {
	return func(s *Settings) error {
		u, err := url.Parse(strings.TrimRight(base, "/"))
		if err != nil || !IsBaseURL(u) {
			return fmt.Errorf("invalid %s URL %q: want http(s)://host[:port][/path]", api, base)
		}
		s.Base = u
		return nil
	}
}

// Transport sets RT. Nothing above it retries, so pass a retrying one.
func Transport(rt http.RoundTripper) Setting {
	return func(s *Settings) error {
		if err := CheckTransport(rt); err != nil {
			return err
		}
		s.RT = rt
		return nil
	}
}

// PageSize sets PageSize, 1 to MaxPageSize.
func PageSize(n int) Setting {
	return func(s *Settings) error {
		if err := CheckPageSize(n, s.MaxPageSize); err != nil {
			return err
		}
		s.PageSize = n
		return nil
	}
}

// UserAgent sets UA.
func UserAgent(ua string) Setting {
	return func(s *Settings) error {
		s.UA = ua
		return nil
	}
}

// ListingMaxAge sets MaxAge (negative: 0, always fetch).
func ListingMaxAge(d time.Duration) Setting {
	return func(s *Settings) error {
		s.MaxAge = max(d, 0)
		return nil
	}
}

// Clock sets Now; nil keeps it.
func Clock(now func() time.Time) Setting {
	return func(s *Settings) error {
		if now != nil {
			s.Now = now
		}
		return nil
	}
}

// Apply applies settings in order, stopping at the first error.
func (s *Settings) Apply(settings ...Setting) error {
	for _, set := range settings {
		if err := set(s); err != nil {
			return err
		}
	}
	return nil
}
