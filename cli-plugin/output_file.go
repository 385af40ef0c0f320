package main

import (
	"errors"
	"fmt"

	"github.com/docker-werf/docker-werf/internal/privatefile"
)

// writeOutputFile writes a 0600 file the user named with flag: ci-env's
// script or env file, which the job (often root) sources, and cleanup's
// report. The path may be in a shared directory such as /tmp, so it never
// writes through what another user could have put there: a missing file is
// created exclusively, and an existing one is replaced only if it is a
// regular file of the user's that others cannot write.
func writeOutputFile(path string, data []byte, what, flag string) error {
	return outputFileError(privatefile.Write(path, data, privatefile.WritableByOthers), what, flag)
}

// checkOutputFile fails, before any work is done, where writeOutputFile
// would fail at the end.
func checkOutputFile(path, what, flag string) error {
	return outputFileError(privatefile.CheckTarget(path, privatefile.WritableByOthers), what, flag)
}

func outputFileError(err error, what, flag string) error {
	if err == nil {
		return nil
	}
	var refused *privatefile.RefusedError
	if errors.As(err, &refused) {
		return fmt.Errorf("writing %s (%s): %w; remove it, or give %s a path in a directory of your own", what, flag, err, flag)
	}
	return fmt.Errorf("writing %s (%s): %w", what, flag, err)
}
