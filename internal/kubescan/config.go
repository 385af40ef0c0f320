// Package kubescan finds the images that Kubernetes clusters run: it reads
// the kubeconfig as kubectl does, lists the Pods and the pod templates of
// every workload kind in each context, and names each image with the
// context, namespace, kind and name of what uses it.
//
// It talks to clusters with client-go's rest client and reads kubeconfig
// with its clientcmd, so authentication (tokens, client certificates, exec
// plugins), TLS and proxies work as in kubectl; the lists are decoded into
// the few fields the scan reads, not into client-go's typed objects.
package kubescan

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options say which clusters to scan and how.
type Options struct {
	// KubeConfig, when set, is the only kubeconfig file read (kubectl's
	// --kubeconfig). Otherwise the files in KUBECONFIG are merged, or
	// ~/.kube/config is read.
	KubeConfig string
	// KubeConfigData, when set, is the kubeconfig itself (werf's
	// --kube-config-base64, decoded) and no file is read.
	KubeConfigData []byte
	// Context, when set, is the only context scanned; otherwise every
	// context of the kubeconfig is.
	Context string
	// ContextNamespaceOnly scans only each context's namespace ("default"
	// when the context names none) instead of all namespaces.
	ContextNamespaceOnly bool
	// ServiceAccountDir is where a Pod finds its service account (token,
	// ca.crt, namespace); "" means the standard path. It is used only when
	// no kubeconfig names a context and KUBERNETES_SERVICE_HOST is set.
	ServiceAccountDir string
	// Getenv reads the environment (KUBERNETES_SERVICE_HOST/PORT); nil
	// means os.Getenv. clientcmd reads KUBECONFIG and HOME itself.
	Getenv func(string) string
	// PageSize is how many objects one list request asks for; 0 means 500,
	// as kubectl.
	PageSize int64
	// Parallel is how many list requests are in flight at once; 0 means 8.
	Parallel int
	// UserAgent names the client to the API server.
	UserAgent string
}

// InClusterContext is the context name the scan gives the cluster a Pod
// runs in when it reads its service account instead of a kubeconfig.
const InClusterContext = "in-cluster"

// DefaultServiceAccountDir is where Kubernetes mounts a Pod's service
// account.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Cluster is one context to scan.
type Cluster struct {
	Context string
	Server  string
	// Namespace is the only namespace scanned; "" scans all.
	Namespace string
	config    *rest.Config
}

// ErrNoClusters says that no kubeconfig names a context and the process
// does not run in a cluster.
var ErrNoClusters = errors.New("no Kubernetes cluster is configured")

// Clusters reads the kubeconfig and returns the clusters to scan. A file
// that cannot be read or parsed, an unknown --kube-context and a context
// whose cluster or user is missing are errors; ErrNoClusters says that no
// kubeconfig and no service account were found.
func Clusters(opts Options) ([]Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.KubeConfig
	var raw *clientcmdapi.Config
	var err error
	if opts.KubeConfigData != nil {
		rules.ExplicitPath = "(the kubeconfig given in base64)"
		raw, err = clientcmd.Load(opts.KubeConfigData)
	} else {
		raw, err = rules.Load()
	}
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %s: %w", describeFiles(rules), err)
	}
	if len(raw.Contexts) == 0 {
		c, ok, err := inCluster(opts)
		if err != nil {
			return nil, err
		}
		if ok {
			return []Cluster{c}, nil
		}
		if opts.Context != "" {
			return nil, fmt.Errorf("kube context %q: no kubeconfig names it (kubeconfig: %s)", opts.Context, describeFiles(rules))
		}
		return nil, fmt.Errorf("%w (kubeconfig: %s)", ErrNoClusters, describeFiles(rules))
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range raw.Contexts {
			if !yield(name) {
				return
			}
		}
	})
	if opts.Context != "" {
		if _, ok := raw.Contexts[opts.Context]; !ok {
			return nil, fmt.Errorf("kube context %q is not in the kubeconfig (%s), which has: %s",
				opts.Context, describeFiles(rules), strings.Join(names, ", "))
		}
		names = []string{opts.Context}
	}
	clusters := make([]Cluster, 0, len(names))
	for _, name := range names {
		cc := clientcmd.NewNonInteractiveClientConfig(*raw, name, &clientcmd.ConfigOverrides{}, rules)
		cfg, err := cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kube context %q: %w", name, err)
		}
		c := Cluster{Context: name, Server: cfg.Host, config: cfg}
		if opts.ContextNamespaceOnly {
			if c.Namespace, _, err = cc.Namespace(); err != nil {
				return nil, fmt.Errorf("kube context %q: namespace: %w", name, err)
			}
		}
		clusters = append(clusters, c)
	}
	return clusters, nil
}

// describeFiles names the kubeconfig files the rules read, for messages.
func describeFiles(rules *clientcmd.ClientConfigLoadingRules) string {
	if rules.ExplicitPath != "" {
		return rules.ExplicitPath
	}
	files := rules.GetLoadingPrecedence()
	if len(files) == 0 {
		return "none"
	}
	return strings.Join(files, string(filepath.ListSeparator))
}

// inCluster builds the cluster of a Pod's service account, as
// rest.InClusterConfig does but from a directory that can be chosen.
func inCluster(opts Options) (Cluster, bool, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return Cluster{}, false, nil
	}
	if opts.Context != "" && opts.Context != InClusterContext {
		return Cluster{}, false, nil
	}
	dir := opts.ServiceAccountDir
	if dir == "" {
		dir = DefaultServiceAccountDir
	}
	token := filepath.Join(dir, "token")
	if _, err := os.Stat(token); err != nil {
		return Cluster{}, true, fmt.Errorf("kube context %s: KUBERNETES_SERVICE_HOST is set but the service account token cannot be read: %w",
			InClusterContext, err)
	}
	cfg := &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		BearerTokenFile: token,
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(dir, "ca.crt")},
	}
	c := Cluster{Context: InClusterContext, Server: cfg.Host, config: cfg}
	if opts.ContextNamespaceOnly {
		ns, err := os.ReadFile(filepath.Join(dir, "namespace"))
		if err != nil {
			return Cluster{}, true, fmt.Errorf("kube context %s: --scan-context-namespace-only needs the service account's namespace: %w",
				InClusterContext, err)
		}
		c.Namespace = strings.TrimSpace(string(ns))
	}
	return c, true, nil
}
