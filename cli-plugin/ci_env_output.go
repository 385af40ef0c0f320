package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker-werf/docker-werf/internal/ci"
	"github.com/docker-werf/docker-werf/internal/shellenv"
)

// ciEnvOutput is where and how ci-env writes the variables.
type ciEnvOutput struct {
	format    shellenv.Format
	toFile    bool   // --as-file / --as-env-file: write a file, print its path
	path      string // the file, or "" for one in the job's config dir
	githubEnv string // --github-env: the runner's file to append to
}

func newCIEnvOutput(opts ciEnvOptions, getenv func(string) string) (ciEnvOutput, error) {
	shell, err := shellenv.ParseFormat(opts.shell)
	if err != nil {
		return ciEnvOutput{}, fmt.Errorf("--shell: %w", err)
	}
	switch shell {
	case shellenv.DotEnv, shellenv.GitHubEnv, shellenv.JSON:
		return ciEnvOutput{}, fmt.Errorf("--shell %s is not a shell: use --as-env-file, --github-env or --format json", shell)
	}
	switch {
	case opts.format == formatJSON:
		return ciEnvOutput{format: shellenv.JSON}, nil
	case opts.asEnvFile:
		return ciEnvOutput{format: shellenv.DotEnv, toFile: true, path: opts.outputFile}, nil
	case opts.asFile:
		return ciEnvOutput{format: shell, toFile: true, path: opts.outputFile}, nil
	case opts.githubEnv:
		file := getenv("GITHUB_ENV")
		if file == "" {
			return ciEnvOutput{}, errors.New("--github-env needs GITHUB_ENV, which GitHub, Gitea and Forgejo Actions set in each step")
		}
		return ciEnvOutput{format: shellenv.GitHubEnv, githubEnv: file}, nil
	}
	return ciEnvOutput{format: shell}, nil
}

// write renders everything first, so a value the format cannot hold leaves
// no file behind.
func (o ciEnvOutput) write(stdout io.Writer, dir string, entries []shellenv.Entry) error {
	var b bytes.Buffer
	if err := shellenv.Render(&b, o.format, entries); err != nil {
		return err
	}
	switch {
	case o.githubEnv != "":
		return appendFile(o.githubEnv, b.Bytes())
	case o.toFile:
		path := o.path
		if path == "" {
			path = filepath.Join(dir, "ci-env"+fileExtension(o.format))
		}
		if err := writeOutputFile(path, b.Bytes(), "the variables", "--output-file-path (-o)"); err != nil {
			return err
		}
		_, err := fmt.Fprintln(stdout, path)
		return err
	}
	_, err := stdout.Write(b.Bytes())
	return err
}

func fileExtension(f shellenv.Format) string {
	switch f {
	case shellenv.Fish:
		return ".fish"
	case shellenv.PowerShell:
		return ".ps1"
	case shellenv.CmdExe:
		return ".bat"
	case shellenv.DotEnv:
		return ".env"
	}
	return ".sh"
}

func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("appending to GITHUB_ENV: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("appending to GITHUB_ENV (%s): %w", path, err)
	}
	return f.Close()
}

// ciEnvEntries lists what the job gets, in werf's order: the docker config
// first, then the variables by section. A variable the job already has is
// left alone (its value may be deliberate), except the docker config, which
// is the point of the command.
func ciEnvEntries(dir string, job ci.Job, vars []ci.Var, f shellenv.Format,
	getenv func(string) string, stderr io.Writer) []shellenv.Entry {
	entries := []shellenv.Entry{
		{Comment: fmt.Sprintf("docker werf ci-env: %s job", job.System)},
		{Name: "DOCKER_CONFIG", Value: dir, Comment: "DOCKER"},
		{Name: "WERF_DOCKER_CONFIG", Value: dir},
	}
	section := ""
	for _, v := range vars {
		e := shellenv.Entry{Name: v.Name, Value: v.Value}
		if v.Section != section {
			section, e.Comment = v.Section, v.Section
		}
		if v.Name == ci.DetectedRegistryVar {
			// Goes with the kind: a kind the job set itself stays, and
			// applies to every repository.
			if getenv(ci.ContainerRegistryVar) == "" {
				entries = append(entries, e)
			}
			continue
		}
		switch {
		case getenv(v.Name) != "" && !strings.HasPrefix(v.Source, "--"):
			entries = append(entries, shellenv.Entry{Comment: joinComment(e.Comment,
				v.Name+" is already set in the job; left as it is")})
			continue
		case v.Secret && !canCopyVariables(f):
			fmt.Fprintf(stderr, "Notice: %s is not written: the %s format would hold the secret itself; set it from %s in the job\n",
				v.Name, f, v.Source)
			continue
		case v.Secret:
			// The script copies the token when it runs; it never holds it.
			e.Value, e.Ref = "", v.Source
		}
		entries = append(entries, e)
	}
	if job.MissingCommit != "" && !slices.ContainsFunc(vars, func(v ci.Var) bool { return v.Name == "WERF_ADD_ANNOTATION_CI_COMMIT" }) {
		fmt.Fprintf(stderr, "Warning: %s: %s is not set, so there is no WERF_ADD_ANNOTATION_CI_COMMIT (give --commit to set it)\n",
			job.System, job.MissingCommit)
	}
	for _, n := range job.Notes {
		fmt.Fprintf(stderr, "Notice: %s\n", n)
	}
	return append(entries, shellenv.Entry{Comment: "at the end of the job: docker werf ci-env --cleanup (eval its output to unset DOCKER_CONFIG)"})
}

func joinComment(section, text string) string {
	if section == "" {
		return text
	}
	return section + ": " + text
}

func canCopyVariables(f shellenv.Format) bool {
	switch f {
	case shellenv.DotEnv, shellenv.GitHubEnv, shellenv.JSON:
		return false
	}
	return true
}
