package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/docker-werf/docker-werf/internal/creds"
	"github.com/docker-werf/docker-werf/internal/registry"
)

// maxInput bounds stdin. Addresses are short and credentials a few KiB; the
// limit is also below bufio.Scanner's 64 KiB line limit, which the
// credentials package reads with.
const maxInput = 64<<10 - 1

var errInputTooLarge = fmt.Errorf("input too large: more than %d bytes on stdin", maxInput)

// runProtocol serves one credential-helper protocol action.
func runProtocol(action string, args []string, stdin io.Reader, stdout io.Writer, env registry.Env) int {
	if action == credentials.ActionList {
		// list never fails: docker's legacy builder calls it for every
		// build and treats an error as fatal.
		return runList(stdout, env)
	}
	if len(args) > 0 {
		return fail(stdout, fmt.Errorf("%s takes no arguments: docker passes its input on stdin", action))
	}
	if action == credentials.ActionVersion {
		printVersion(stdout)
		return exitOK
	}
	in, err := readInput(stdin)
	if err != nil {
		return fail(stdout, err)
	}
	r, err := creds.New(creds.Options{Env: env, Purpose: creds.Pull})
	if err != nil {
		return fail(stdout, err)
	}
	var out bytes.Buffer
	var secret string
	switch action {
	case credentials.ActionGet:
		err = credentials.Get(r, bytes.NewReader(in), &out)
	case credentials.ActionErase:
		err = credentials.Erase(r, bytes.NewReader(in))
	case credentials.ActionStore:
		var c credentials.Credentials
		if jerr := json.Unmarshal(in, &c); jerr != nil {
			err = errors.New(`store: stdin is not a JSON object {"ServerURL","Username","Secret"} of strings`)
			break
		}
		secret = c.Secret
		err = credentials.Store(r, bytes.NewReader(in))
	}
	if err != nil {
		return failRedacted(stdout, err, secret)
	}
	_, _ = stdout.Write(out.Bytes())
	return exitOK
}

func runList(stdout io.Writer, env registry.Env) int {
	var out bytes.Buffer
	r, err := creds.New(creds.Options{Env: env, Purpose: creds.Pull})
	if err == nil {
		err = credentials.List(r, &out)
	}
	if err != nil {
		out.Reset()
		out.WriteString("{}\n")
	}
	_, _ = stdout.Write(out.Bytes())
	return exitOK
}

func readInput(stdin io.Reader) ([]byte, error) {
	if stdin == nil {
		return nil, nil
	}
	in, err := io.ReadAll(io.LimitReader(stdin, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	if len(in) > maxInput {
		return nil, errInputTooLarge
	}
	return in, nil
}

func fail(stdout io.Writer, err error) int {
	return failRedacted(stdout, err, "")
}

// failRedacted prints an error the protocol's way: on stdout, exit 1. The
// standard messages clients match (not found, missing server URL or
// username) are printed exactly; others get the helper's name in front. As a
// last line of defence, secret (the secret being stored) is masked should
// any message contain it.
func failRedacted(stdout io.Writer, err error, secret string) int {
	msg := err.Error()
	if !isStandard(err) {
		msg = name + ": " + msg
	}
	if len(secret) >= 4 {
		msg = strings.ReplaceAll(msg, secret, "***")
	}
	fmt.Fprintln(stdout, msg)
	return exitError
}

func isStandard(err error) bool {
	return credentials.IsErrCredentialsNotFound(err) ||
		credentials.IsCredentialsMissingServerURL(err) ||
		credentials.IsCredentialsMissingUsername(err)
}
