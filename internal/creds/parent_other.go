//go:build !linux

package creds

// parentDockerConfig is Linux-only (it reads /proc).
var parentDockerConfig = func() string { return "" }
