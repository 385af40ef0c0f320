package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/docker-werf/docker-werf/internal/jsonout/jsoncheck"
)

// TestGCJSON: gc --format json prints one document with lowerCamel keys and
// no HTML escaping (the store's path here holds "<&>"), what it kept being
// absent from "removed"; the variable WERF_CREDENTIALS_GC_FORMAT does the
// same, and anything but json is refused before anything is removed.
func TestGCJSON(t *testing.T) {
	e := testEnv(t)
	e["WERF_CREDENTIALS_DIR"] = filepath.Join(t.TempDir(), "store<&>")
	dir, old := storeAgedScope(t, e)

	decode := func(r result) gcReport {
		t.Helper()
		assert.Equal(t, r.code, 0, "stdout %q stderr %q", r.stdout, r.stderr)
		assert.Equal(t, r.stderr, "")
		assert.Check(t, is.Len(jsoncheck.Problems([]byte(r.stdout)), 0), r.stdout)
		var rep gcReport
		assert.NilError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
		noSecrets(t, r)
		return rep
	}

	r := runWith(t, e, "", "gc", "--format", "json", "--older-than", "2w")
	assert.Check(t, is.Contains(r.stdout, `"removed": []`))
	assert.Check(t, is.Contains(r.stdout, `store<&>`))
	rep := decode(r)
	assert.Check(t, is.DeepEqual(rep, gcReport{Root: e["WERF_CREDENTIALS_DIR"], OlderThan: "14d", Removed: []gcRemoved{}}))

	rep = decode(runWith(t, e, "", "gc", "--format=json", "--older-than", "1w", "--dry-run"))
	assert.Check(t, rep.DryRun)
	assert.Check(t, is.Equal(rep.OlderThan, "7d"))
	assert.Assert(t, is.Len(rep.Removed, 1))
	assert.Check(t, is.DeepEqual(rep.Removed[0], gcRemoved{Scope: "ci:gitlab:4242", CISystem: "gitlab", Dir: dir,
		LastUsed: old.UTC().Format(time.RFC3339), Reason: "CI job scope unused for 10d"}))
	_, err := os.Stat(dir)
	assert.NilError(t, err, "a dry run removes nothing")

	r = runWith(t, e, "", "gc", "--format", "yaml", "--older-than", "1w")
	assert.Check(t, is.Equal(r.code, 2))
	assert.Check(t, is.Contains(r.stderr, "invalid --format yaml: expected json or empty"))

	e["WERF_CREDENTIALS_GC_FORMAT"] = "json"
	rep = decode(runWith(t, e, "", "gc", "--older-than", "1w"))
	assert.Check(t, !rep.DryRun)
	assert.Check(t, is.Len(rep.Removed, 1))
	_, err = os.Stat(dir)
	assert.Check(t, os.IsNotExist(err))
}
