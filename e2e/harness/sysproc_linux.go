package harness

import "syscall"

// childProcAttr makes a server started by the harness die with the test
// process, even when a test timeout panics before cleanups run.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
