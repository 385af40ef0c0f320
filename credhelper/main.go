package main

import (
	"github.com/docker/docker-credential-helpers/credentials"
	_ "github.com/spf13/pflag"
)

func main() { credentials.Serve(nil) }
