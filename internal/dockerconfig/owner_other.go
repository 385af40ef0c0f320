//go:build !unix

package dockerconfig

import "os"

func keepOwner(*os.File, os.FileInfo) {}
