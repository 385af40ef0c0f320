package kubescan

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// Use is one image reference that a cluster object holds.
type Use struct {
	Context   string
	Namespace string
	Kind      string // Pod, Deployment, ...
	Name      string
	Image     string // as the object says it: spec image or status imageID
}

// String names the user of the image for a person: context, namespace,
// kind and name.
func (u Use) String() string {
	return fmt.Sprintf("context %s, namespace %s, %s %s", u.Context, u.Namespace, u.Kind, u.Name)
}

// resource is a kind of object that holds pod specs, and where to list it.
type resource struct {
	kind     string
	paths    []string // group-version paths, preferred first; the next is tried on 404
	resource string
}

// resources are every kind the scan reads: Pods (their containers and the
// digests the kubelet reports) and every built-in workload's pod template.
var resources = []resource{
	{"Pod", []string{"/api/v1"}, "pods"},
	{"ReplicationController", []string{"/api/v1"}, "replicationcontrollers"},
	{"Deployment", []string{"/apis/apps/v1"}, "deployments"},
	{"ReplicaSet", []string{"/apis/apps/v1"}, "replicasets"},
	{"StatefulSet", []string{"/apis/apps/v1"}, "statefulsets"},
	{"DaemonSet", []string{"/apis/apps/v1"}, "daemonsets"},
	{"Job", []string{"/apis/batch/v1"}, "jobs"},
	// batch/v1 CronJobs came with Kubernetes 1.21; older servers have v1beta1.
	{"CronJob", []string{"/apis/batch/v1", "/apis/batch/v1beta1"}, "cronjobs"},
}

// Scan lists every resource in every cluster and returns the image
// references found. Any cluster that cannot be reached or read fails the
// scan with an error naming its context and server: a cluster skipped
// would let cleanup delete what it runs.
func Scan(ctx context.Context, clusters []Cluster, opts Options) ([]Use, error) {
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	type job struct {
		c   Cluster
		res resource
		cl  *rest.RESTClient
	}
	var jobs []job
	for _, c := range clusters {
		cl, err := restClient(c, opts, parallel)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.describe(), err)
		}
		for _, r := range resources {
			jobs = append(jobs, job{c, r, cl})
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		uses     []Use
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, parallel)
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			found, err := list(ctx, j.cl, j.c, j.res, opts.PageSize)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				// The first error cancels the rest; theirs only say so.
				if firstErr == nil {
					firstErr = fmt.Errorf("%s: %w", j.c.describe(), err)
					cancel()
				}
				return
			}
			uses = append(uses, found...)
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return uses, nil
}

func (c Cluster) describe() string {
	return fmt.Sprintf("kube context %q (server %s)", c.Context, c.Server)
}

// statusCodecs decode the API server's Status answers into errors that say
// what the server said (Forbidden, Unauthorized, ...); lists are decoded by
// the scan itself.
var statusCodecs = sync.OnceValue(func() serializer.CodecFactory {
	s := runtime.NewScheme()
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return serializer.NewCodecFactory(s)
})

func restClient(c Cluster, opts Options, parallel int) (*rest.RESTClient, error) {
	cfg := rest.CopyConfig(c.config)
	cfg.GroupVersion = &schema.GroupVersion{}
	cfg.APIPath = "/"
	cfg.NegotiatedSerializer = statusCodecs().WithoutConversion()
	cfg.AcceptContentTypes = "application/json"
	cfg.ContentType = "application/json"
	// client-go's default of 5 requests a second would make the list of a
	// big cluster wait on the client; the server's own limits still apply.
	cfg.QPS = float32(4 * parallel)
	cfg.Burst = 8 * parallel
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if opts.UserAgent != "" {
		cfg.UserAgent = opts.UserAgent
	}
	return rest.RESTClientFor(cfg)
}

// list reads every page of one resource in one cluster.
func list(ctx context.Context, cl *rest.RESTClient, c Cluster, r resource, pageSize int64) ([]Use, error) {
	if pageSize <= 0 {
		pageSize = 500
	}
	where := "in all namespaces"
	if c.Namespace != "" {
		where = "in namespace " + c.Namespace
	}
	collect := func(l *objectList, uses []Use) []Use {
		for i := range l.Items {
			uses = l.Items[i].uses(uses, c.Context, r.kind)
		}
		return uses
	}
	for i, gv := range r.paths {
		path := gv
		if c.Namespace != "" {
			path += "/namespaces/" + c.Namespace
		}
		path += "/" + r.resource
		uses, err := listPages(ctx, cl, path, pageSize, collect)
		if apierrors.IsNotFound(err) && i+1 < len(r.paths) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s %s (%s): %w%s", r.resource, where, path, err, hint(err, c))
		}
		return uses, nil
	}
	return nil, nil
}

// listPages follows the list's continue tokens. When a token expires (the
// list took longer than the server keeps its snapshot) it starts over with
// one unpaginated list, as client-go's pager does.
func listPages(ctx context.Context, cl *rest.RESTClient, path string, pageSize int64,
	collect func(*objectList, []Use) []Use) ([]Use, error) {
	var uses []Use
	token := ""
	for {
		req := cl.Get().AbsPath(path).Param("limit", strconv.FormatInt(pageSize, 10))
		if token != "" {
			req = req.Param("continue", token)
		}
		page, err := get(ctx, req)
		if token != "" && (apierrors.IsResourceExpired(err) || apierrors.IsGone(err)) {
			if page, err = get(ctx, cl.Get().AbsPath(path)); err != nil {
				return nil, err
			}
			return collect(page, uses[:0]), nil
		}
		if err != nil {
			return nil, err
		}
		uses = collect(page, uses)
		if page.Metadata.Continue == "" {
			return uses, nil
		}
		token = page.Metadata.Continue
	}
}

func get(ctx context.Context, req *rest.Request) (*objectList, error) {
	body, err := req.Do(ctx).Raw()
	if err != nil {
		return nil, statusError(body, err)
	}
	return decodeList(body)
}

// statusError is the server's own Status answer (its message names the user
// and what it may not do) where the body holds one.
func statusError(body []byte, err error) error {
	var st metav1.Status
	if json.Unmarshal(body, &st) != nil || st.Kind != "Status" || st.Message == "" {
		return err
	}
	return &apierrors.StatusError{ErrStatus: st}
}

func decodeList(body []byte) (*objectList, error) {
	var l objectList
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, fmt.Errorf("decoding the list: %w", err)
	}
	return &l, nil
}

func hint(err error, c Cluster) string {
	switch {
	case apierrors.IsForbidden(err) && c.Namespace == "":
		return " (the user needs the right to list it in every namespace; " +
			"--scan-context-namespace-only scans only the context's namespace, --without-kube skips the clusters)"
	case apierrors.IsForbidden(err):
		return " (the user needs the right to list it in this namespace, or --without-kube to skip the clusters)"
	case apierrors.IsUnauthorized(err):
		return " (the server did not accept the kubeconfig's credentials for this context)"
	}
	return ""
}
