package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/cleanup"
	"github.com/docker-werf/docker-werf/internal/flagenv"
	"github.com/docker-werf/docker-werf/internal/kubescan"
	"github.com/docker-werf/docker-werf/internal/policy"
	"github.com/docker-werf/docker-werf/internal/version"
)

// kubeOptions say which Kubernetes clusters cleanup asks what they run;
// the names and variables are werf's.
type kubeOptions struct {
	config        string
	configBase64  string
	context       string
	namespaceOnly bool
	without       bool
}

func addKubeFlags(fs *pflag.FlagSet, o *kubeOptions) {
	fs.StringVar(&o.config, "kube-config", "",
		"Kubernetes config file to read, alone (default: the files in KUBECONFIG, else ~/.kube/config; also WERF_KUBECONFIG)")
	flagenv.Bind(fs, "kube-config", "WERF_KUBE_CONFIG")
	fs.StringVar(&o.configBase64, "kube-config-base64", "",
		"Kubernetes config itself, base64-encoded, instead of a file (also WERF_KUBECONFIG_BASE64, KUBECONFIG_BASE64; prefer a variable)")
	flagenv.Bind(fs, "kube-config-base64", "WERF_KUBE_CONFIG_BASE64")
	fs.StringVar(&o.context, "kube-context", "", "Scan only this context of the Kubernetes config (default: every context)")
	flagenv.Bind(fs, "kube-context", "WERF_KUBE_CONTEXT")
	fs.BoolVar(&o.namespaceOnly, "scan-context-namespace-only", false,
		"Scan only the namespace of each context (default: all namespaces)")
	flagenv.Bind(fs, "scan-context-namespace-only", "WERF_SCAN_CONTEXT_NAMESPACE_ONLY")
	fs.BoolVar(&o.without, "without-kube", false,
		"Do not ask Kubernetes what it runs: delete tags that clusters use too "+
			"(default: werf.yaml's cleanup.disableKubernetesBasedPolicy, else false; given either way, the flag wins)")
	flagenv.Bind(fs, "without-kube", "WERF_WITHOUT_KUBE")
}

// scanKube lists what the configured clusters run and returns the tags and
// digests of repo among them. A cluster that cannot be read fails the
// cleanup (unless --without-kube); no cluster at all is said once, and so is
// werf.yaml's cleanup.disableKubernetesBasedPolicy: true (cfg.SkipKubernetes),
// which skips them.
func scanKube(ctx context.Context, o kubeOptions, cfg policy.Config, repo string, stderr io.Writer) (cleanup.InUse, error) {
	if o.without {
		return cleanup.InUse{}, nil
	}
	if cfg.SkipKubernetes {
		fmt.Fprintf(stderr, "Notice: clusters are not scanned because werf.yaml says so (cleanup.disableKubernetesBasedPolicy: true at %s): "+
			"tags that Kubernetes runs are not protected (--without-kube=false scans them)\n", cfg.SkipKubernetesBy)
		return cleanup.InUse{}, nil
	}
	opts := kubescan.Options{KubeConfig: cmp.Or(o.config, os.Getenv("WERF_KUBECONFIG")), Context: o.context,
		ContextNamespaceOnly: o.namespaceOnly, UserAgent: "docker-werf/" + version.Version}
	if b64 := cmp.Or(o.configBase64, os.Getenv("WERF_KUBECONFIG_BASE64"), os.Getenv("KUBECONFIG_BASE64")); b64 != "" && o.config == "" {
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return cleanup.InUse{}, errors.New("invalid --kube-config-base64 (WERF_KUBE_CONFIG_BASE64): expected a kubeconfig in standard base64")
		}
		opts.KubeConfigData = data
	}
	clusters, err := kubescan.Clusters(opts)
	if errors.Is(err, kubescan.ErrNoClusters) {
		fmt.Fprintf(stderr, "Warning: %v and no in-cluster service account: tags that Kubernetes runs are not protected "+
			"(--without-kube says none needs to be)\n", err)
		return cleanup.InUse{}, nil
	}
	if err != nil {
		return cleanup.InUse{}, fmt.Errorf("%w (--without-kube skips Kubernetes)", err)
	}
	uses, err := kubescan.Scan(ctx, clusters, opts)
	if err != nil {
		return cleanup.InUse{}, fmt.Errorf("asking Kubernetes what it runs: %w (--without-kube skips Kubernetes)", err)
	}
	found := kubescan.Match(repo, uses)
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Context
	}
	fmt.Fprintf(stderr, "kubernetes: %d of %s's tags and digests in use in %s\n",
		len(found.Tags)+len(found.Digests), repo, strings.Join(names, ", "))
	return cleanup.InUse{Tags: details(found.Tags), Digests: details(found.Digests)}, nil
}

// details say who uses each image: the first user (workloads before their
// Pods) and how many more.
func details(in map[string][]kubescan.Use) map[string]string {
	out := make(map[string]string, len(in))
	for ref, uses := range in {
		first := slices.MinFunc(uses, func(a, b kubescan.Use) int {
			return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Context, b.Context),
				cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		d := "runs in Kubernetes: " + first.String()
		if n := len(uses) - 1; n > 0 {
			d += fmt.Sprintf(" and %d more", n)
		}
		out[ref] = d
	}
	return out
}

// kindRank puts what a user deploys before what it creates.
func kindRank(kind string) int {
	switch kind {
	case "Pod":
		return 2
	case "ReplicaSet", "Job":
		return 1
	}
	return 0
}
