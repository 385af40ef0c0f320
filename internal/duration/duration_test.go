package duration_test

import (
	"flag"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/duration"
)

const want = "want a number with a unit s, m, h, d or w, e.g. 30s, 12h, 7d, 2w, 1w2d"

func TestParse(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		in      string
		want    time.Duration
		wantErr string
	}{
		{in: "30s", want: 30 * time.Second},
		{in: "90m", want: 90 * time.Minute},
		{in: "12h", want: 12 * time.Hour},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "7d", want: 7 * day},
		{in: "2w", want: 14 * day},
		{in: "1w2d12h", want: 9*day + 12*time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: ".5h", want: 30 * time.Minute},
		{in: "168h", want: 168 * time.Hour},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "1us", want: time.Microsecond},
		{in: "1µs", want: time.Microsecond},
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "0d", want: 0},
		{in: "+2h", want: 2 * time.Hour},
		{in: " 3d ", want: 3 * day},
		{in: "106751d23h47m16s", want: 106751*day + 23*time.Hour + 47*time.Minute + 16*time.Second},
		{in: "7x", wantErr: `invalid duration "7x": ` + want},
		{in: "7", wantErr: `invalid duration "7": ` + want},
		{in: "7D", wantErr: `invalid duration "7D": ` + want},
		{in: "7days", wantErr: `invalid duration "7days": ` + want},
		{in: "d", wantErr: `invalid duration "d": ` + want},
		{in: "soon", wantErr: `invalid duration "soon": ` + want},
		{in: "1.2.3h", wantErr: `invalid duration "1.2.3h": ` + want},
		{in: ".h", wantErr: `invalid duration ".h": ` + want},
		{in: "1d 2h", wantErr: `invalid duration "1d 2h": ` + want},
		{in: "", wantErr: `invalid duration "": empty; ` + want},
		{in: "  ", wantErr: `invalid duration "  ": empty; ` + want},
		{in: "-1h", wantErr: `invalid duration "-1h": must not be negative`},
		{in: "-0", wantErr: `invalid duration "-0": must not be negative`},
		{in: "99999999w", wantErr: `invalid duration "99999999w": too long (at most 106751d23h47m16s)`},
		{in: "106752d", wantErr: `invalid duration "106752d": too long (at most 106751d23h47m16s)`},
		{in: "106751d24h", wantErr: `invalid duration "106751d24h": too long (at most 106751d23h47m16s)`},
		{in: "99999999999999999999999s", wantErr: `invalid duration "99999999999999999999999s": too long (at most 106751d23h47m16s)`},
		{in: "15250.3w", wantErr: `invalid duration "15250.3w": too long (at most 106751d23h47m16s)`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := duration.Parse(tc.in)
			if tc.wantErr != "" {
				assert.Error(t, err, tc.wantErr)
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(got, tc.want))
		})
	}
}

func TestFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 1500 * time.Millisecond: "1.5s", 90 * time.Millisecond: "90ms",
		2 * time.Hour: "2h", 90 * time.Minute: "1h30m", 7 * 24 * time.Hour: "7d", 36 * time.Hour: "1d12h",
		time.Minute + 500*time.Millisecond: "1m500ms", -time.Hour: "-1h",
	} {
		assert.Check(t, is.Equal(duration.Format(d), want), "%d", d)
	}
}

func TestFormatParsesBack(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 999, time.Second + 1, 61 * time.Second, 25*time.Hour + 1, 15 * 24 * time.Hour, duration.Max} {
		got, err := duration.Parse(duration.Format(d))
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got, d), duration.Format(d))
	}
}

func TestValueWithPflag(t *testing.T) {
	var d time.Duration
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Var(duration.NewValue(&d, 24*time.Hour), "older-than", "age")
	assert.Check(t, is.Equal(d, 24*time.Hour))
	assert.Check(t, is.Equal(fs.Lookup("older-than").DefValue, "1d"))
	assert.NilError(t, fs.Parse([]string{"--older-than", "1w2d"}))
	assert.Check(t, is.Equal(d, 9*24*time.Hour))
	assert.Check(t, is.Equal(fs.Lookup("older-than").Value.String(), "9d"))
	assert.Check(t, is.Equal(fs.Lookup("older-than").Value.Type(), "duration"))

	err := fs.Parse([]string{"--older-than=7x"})
	assert.Error(t, err, `invalid argument "7x" for "--older-than" flag: invalid duration "7x": `+want)
}

func TestValueZeroIsNoDefault(t *testing.T) {
	var d time.Duration
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.Var(duration.NewValue(&d, 0), "timeout", "limit")
	assert.Check(t, is.Equal(fs.Lookup("timeout").DefValue, "0"))
	assert.Check(t, !is.Contains(fs.FlagUsages(), "default")().Success(), fs.FlagUsages())
}

func TestValueWithStdlibFlag(t *testing.T) {
	var d time.Duration
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Var(duration.NewValue(&d, 0), "older-than", "age")
	assert.NilError(t, fs.Parse([]string{"--older-than", "2w"}))
	assert.Check(t, is.Equal(d, 14*24*time.Hour))
}
