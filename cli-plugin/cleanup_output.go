package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/jsonout"
)

// cleanupOutput shows progress on a terminal (stderr), stays quiet in logs
// but for one line per phase, and writes the plan, the summary, JSON and the
// report.
type cleanupOutput struct {
	out      io.Writer
	err      io.Writer
	terminal bool
	repo     string
	format   string
	report   string
	dryRun   bool
	// quiet leaves the kept tags out of the text output.
	quiet bool
	// warnings are the policy's, for the JSON output and the report.
	warnings []string

	mu        sync.Mutex
	lastPhase string
	lastDraw  time.Time
}

// newCleanupOutput fails when the report could not be written, so that a
// run does not delete tags and then fail to say which.
func newCleanupOutput(dockerCLI command.Cli, repo, format, report string, dryRun bool) (*cleanupOutput, error) {
	if report != "" {
		if err := checkOutputFile(report, "the report", "--report"); err != nil {
			return nil, err
		}
	}
	return &cleanupOutput{out: dockerCLI.Out(), err: dockerCLI.Err(), terminal: dockerCLI.Err().IsTerminal(),
		repo: repo, format: format, report: report, dryRun: dryRun}, nil
}

func (o *cleanupOutput) progress(phase string, done, total int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.terminal {
		if done == total && phase != o.lastPhase {
			o.lastPhase = phase
			fmt.Fprintf(o.err, "%s: %d done\n", phase, total)
		}
		return
	}
	if done < total && time.Since(o.lastDraw) < 100*time.Millisecond {
		return
	}
	o.lastDraw = time.Now()
	const width = 30
	filled := width
	if total > 0 {
		filled = width * done / total
	}
	fmt.Fprintf(o.err, "\r%-18s [%s%s] %d/%d", phase, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), done, total)
	if done == total {
		fmt.Fprintln(o.err)
	}
}

type summary struct {
	Kept        map[string]int `json:"kept"`
	Deleted     int            `json:"deleted"`
	WouldDelete int            `json:"wouldDelete,omitempty"`
	Skipped     int            `json:"skipped"`
	Failed      int            `json:"failed"`
	Interrupted int            `json:"interrupted,omitempty"`
}

func summarize(rs []cleanup.TagResult) summary {
	s := summary{Kept: map[string]int{}}
	for _, r := range rs {
		switch r.Outcome {
		case cleanup.Kept:
			s.Kept[r.Reason]++
		case cleanup.Deleted, cleanup.Gone:
			s.Deleted++
		case cleanup.WouldDelete:
			s.WouldDelete++
		case cleanup.Moved, cleanup.Protected:
			s.Skipped++
		case cleanup.Failed:
			s.Failed++
		case cleanup.Interrupted:
			s.Interrupted++
		}
	}
	return s
}

type cleanupReport struct {
	Repository string              `json:"repository"`
	DryRun     bool                `json:"dryRun"`
	Summary    summary             `json:"summary"`
	Warnings   []string            `json:"warnings,omitempty"`
	Tags       []cleanup.TagResult `json:"tags"`
}

func (o *cleanupOutput) write(rs []cleanup.TagResult) error {
	report := cleanupReport{Repository: o.repo, DryRun: o.dryRun, Summary: summarize(rs), Warnings: o.warnings, Tags: rs}
	if o.report != "" {
		if err := writeReport(o.report, report); err != nil {
			return err
		}
	}
	if o.format == formatJSON {
		return jsonout.Write(o.out, report)
	}
	if !o.quiet {
		printKept(o.out, rs)
	}
	printDeletions(o.out, rs, o.dryRun)
	printSummary(o.out, report)
	return nil
}

func writeReport(path string, r cleanupReport) error {
	data, err := jsonout.Marshal(r)
	if err != nil {
		return err
	}
	return writeOutputFile(path, data, "the report", "--report")
}

// planned says whether a tag was planned for deletion: whatever came of
// it, it is listed with the deletions.
func planned(r cleanup.TagResult) bool { return r.Outcome != cleanup.Kept || r.Action != "" }

// printKept lists the kept tags grouped by reason, each with why.
func printKept(w io.Writer, rs []cleanup.TagResult) {
	var kept []cleanup.TagResult
	for _, r := range rs {
		if !planned(r) {
			kept = append(kept, r)
		}
	}
	if len(kept) == 0 {
		return
	}
	slices.SortStableFunc(kept, func(a, b cleanup.TagResult) int { return strings.Compare(a.Reason, b.Reason) })
	fmt.Fprintf(w, "Kept (%d):\n", len(kept))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REASON\tTAG\tDIGEST\tDETAIL")
	for i, r := range kept {
		reason := r.Reason
		if i > 0 && kept[i-1].Reason == reason {
			reason = "" // the group's reason is said once
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", reason, r.Tag, shortDigest(r.Digest), oneLine(r.Detail))
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
}

// printDeletions lists every tag that is (or would be) deleted, or that
// was to be and was not, with why and what came of it.
func printDeletions(w io.Writer, rs []cleanup.TagResult, dryRun bool) {
	var gone []cleanup.TagResult
	for _, r := range rs {
		if planned(r) {
			gone = append(gone, r)
		}
	}
	if dryRun {
		fmt.Fprintf(w, "Would delete (%d; dry run, nothing is deleted):\n", len(gone))
	} else {
		fmt.Fprintf(w, "Deletions (%d):\n", len(gone))
	}
	if len(gone) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TAG\tDIGEST\tACTION\tREASON\tOUTCOME\tDETAIL")
	for _, r := range gone {
		detail := r.Detail
		if r.Error != "" {
			detail += "; error: " + r.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Tag, shortDigest(r.Digest), r.Action, r.Reason, r.Outcome, oneLine(detail))
	}
	_ = tw.Flush()
}

// oneLine keeps a table row on one line and its columns apart, whatever a
// branch name or a server's message holds.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func printSummary(w io.Writer, r cleanupReport) {
	s := r.Summary
	kept := 0
	var reasons []string
	for _, reason := range slices.Sorted(maps.Keys(s.Kept)) {
		kept += s.Kept[reason]
		reasons = append(reasons, fmt.Sprintf("%s %d", reason, s.Kept[reason]))
	}
	deleted := fmt.Sprintf("deleted %d", s.Deleted)
	if r.DryRun {
		deleted = fmt.Sprintf("would delete %d (dry run: nothing was deleted)", s.WouldDelete)
	}
	fmt.Fprintf(w, "\n%s: kept %d (%s), %s, skipped %d (moved during the run, or protected by the registry), failed %d",
		r.Repository, kept, strings.Join(reasons, ", "), deleted, s.Skipped, s.Failed)
	if s.Interrupted > 0 {
		fmt.Fprintf(w, ", interrupted %d", s.Interrupted)
	}
	fmt.Fprintln(w)
}

func shortDigest(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}
