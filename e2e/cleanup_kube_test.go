package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/docker-werf/docker-werf/e2e/harness"
	"github.com/docker-werf/docker-werf/internal/kubescan"
)

// kubeScene is a repository whose tags a real API server's objects use, one
// tag per place an image can be named, in namespaces web, jobs and other.
type kubeScene struct {
	h      *harness.H
	kube   *harness.Kube
	repo   string
	pusher *harness.Pusher
	pass   string
	// user of each tag: "namespace/Kind/name"
	users map[string]string
}

func newKubeScene(t *testing.T) *kubeScene {
	h := harness.New(t)
	kube := harness.StartKube(t)
	reg, pusher, pass := startCIRegistry(t, h, harness.Registry3, "kube-")
	s := &kubeScene{h: h, kube: kube, repo: reg.Repo("shop/app"), pusher: pusher, pass: pass, users: map[string]string{}}
	for _, tok := range kube.Tokens {
		h.Secret(tok)
	}
	old := time.Now().Add(-100 * time.Hour)
	digests := map[string]string{}
	for i, tag := range []string{"pod", "init", "ephemeral", "status-only", "by-digest", "deployment", "replicaset",
		"statefulset", "daemonset", "job", "cronjob", "rc", "other-ns", "unused"} {
		digests[tag] = pusher.Push(s.repo+":"+tag, pusher.Image(old.Add(time.Duration(i)*time.Minute), nil))
	}
	child := pusher.Image(old, nil)
	pusher.Index(s.repo+":multi", child, pusher.Image(old, nil))
	childDigest, err := child.Digest()
	assert.NilError(t, err)
	pusher.Push(s.repo+":newest", pusher.Image(time.Now().Add(-3*time.Hour), nil)) // --keep-last 1 keeps it

	kube.CreateNamespaces(t, "web", "jobs", "other")
	kube.GrantNamespace(t, harness.KubeWebUser, "web")
	c := kube.Client(t, harness.KubeAdmin)
	ctx := context.Background()
	img := func(tag string) string { return s.repo + ":" + tag }
	spec := func(images ...string) corev1.PodSpec {
		var cs []corev1.Container
		for i, im := range images {
			cs = append(cs, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: im})
		}
		return corev1.PodSpec{Containers: cs, RestartPolicy: corev1.RestartPolicyAlways}
	}
	tmpl := func(name string, images ...string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec(images...)}
	}
	meta := func(ns, name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	sel := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}}
	}
	check := func(_ any, err error) { t.Helper(); assert.NilError(t, err) }

	// A Pod with a container, an init container, an ephemeral container
	// and a status that names a digest no spec names.
	podSpec := spec(img("pod"), s.repo+"@"+digests["by-digest"], "registry.example.com/elsewhere:v1")
	podSpec.InitContainers = []corev1.Container{{Name: "init", Image: img("init")}}
	pod, err := c.CoreV1().Pods("web").Create(ctx, &corev1.Pod{ObjectMeta: meta("web", "api-1"), Spec: podSpec}, metav1.CreateOptions{})
	assert.NilError(t, err)
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: img("ephemeral"), ImagePullPolicy: corev1.PullIfNotPresent,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile}}}
	pod, err = c.CoreV1().Pods("web").UpdateEphemeralContainers(ctx, "api-1", pod, metav1.UpdateOptions{})
	assert.NilError(t, err)
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c0", Image: img("pod"),
		ImageID: "docker-pullable://" + s.repo + "@" + digests["status-only"]}}
	check(c.CoreV1().Pods("web").UpdateStatus(ctx, pod, metav1.UpdateOptions{}))
	// A Pod that runs one platform of an index: its tag is in use.
	check(c.CoreV1().Pods("web").Create(ctx, &corev1.Pod{ObjectMeta: meta("web", "multi-1"),
		Spec: spec(s.repo + "@" + childDigest.String())}, metav1.CreateOptions{}))

	check(c.AppsV1().Deployments("web").Create(ctx, &appsv1.Deployment{ObjectMeta: meta("web", "api"),
		Spec: appsv1.DeploymentSpec{Selector: sel("api"), Template: tmpl("api", img("deployment"))}}, metav1.CreateOptions{}))
	check(c.AppsV1().ReplicaSets("web").Create(ctx, &appsv1.ReplicaSet{ObjectMeta: meta("web", "api-rs"),
		Spec: appsv1.ReplicaSetSpec{Selector: sel("rs"), Template: tmpl("rs", img("replicaset"))}}, metav1.CreateOptions{}))
	check(c.AppsV1().StatefulSets("web").Create(ctx, &appsv1.StatefulSet{ObjectMeta: meta("web", "db"),
		Spec: appsv1.StatefulSetSpec{Selector: sel("db"), Template: tmpl("db", img("statefulset"))}}, metav1.CreateOptions{}))
	check(c.AppsV1().DaemonSets("web").Create(ctx, &appsv1.DaemonSet{ObjectMeta: meta("web", "agent"),
		Spec: appsv1.DaemonSetSpec{Selector: sel("agent"), Template: tmpl("agent", img("daemonset"))}}, metav1.CreateOptions{}))
	rcTmpl := tmpl("rc", img("rc"))
	check(c.CoreV1().ReplicationControllers("web").Create(ctx, &corev1.ReplicationController{ObjectMeta: meta("web", "legacy"),
		Spec: corev1.ReplicationControllerSpec{Selector: map[string]string{"app": "rc"}, Template: &rcTmpl}}, metav1.CreateOptions{}))
	jobTmpl := tmpl("job", img("job"))
	jobTmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
	check(c.BatchV1().Jobs("jobs").Create(ctx, &batchv1.Job{ObjectMeta: meta("jobs", "migrate"),
		Spec: batchv1.JobSpec{Template: jobTmpl}}, metav1.CreateOptions{}))
	cronTmpl := tmpl("cron", img("cronjob"))
	cronTmpl.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
	check(c.BatchV1().CronJobs("jobs").Create(ctx, &batchv1.CronJob{ObjectMeta: meta("jobs", "nightly"),
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: cronTmpl}}}},
		metav1.CreateOptions{}))
	check(c.AppsV1().Deployments("other").Create(ctx, &appsv1.Deployment{ObjectMeta: meta("other", "side"),
		Spec: appsv1.DeploymentSpec{Selector: sel("side"), Template: tmpl("side", img("other-ns"))}}, metav1.CreateOptions{}))

	s.users = map[string]string{
		"pod": "web/Pod/api-1", "init": "web/Pod/api-1", "ephemeral": "web/Pod/api-1", "status-only": "web/Pod/api-1",
		"by-digest": "web/Pod/api-1", "multi": "web/Pod/multi-1", "deployment": "web/Deployment/api",
		"replicaset": "web/ReplicaSet/api-rs", "statefulset": "web/StatefulSet/db", "daemonset": "web/DaemonSet/agent",
		"rc": "web/ReplicationController/legacy", "job": "jobs/Job/migrate", "cronjob": "jobs/CronJob/nightly",
		"other-ns": "other/Deployment/side",
	}
	return s
}

func (s *kubeScene) env(t *testing.T) *harness.Env {
	return harness.NewEnv(t).Set("WERF_REGISTRY_USERNAME", "ci").Set("WERF_REGISTRY_PASSWORD", s.pass)
}

// cleanup runs a cleanup that, without Kubernetes, deletes every tag but
// "newest".
func (s *kubeScene) cleanup(env *harness.Env, args ...string) *icmd.Result {
	cmd := env.Cmd(env.Bins.Plugin, append([]string{"werf", "cleanup", "--repo", s.repo, "--keep-last", "1",
		"--keep-younger-than", "0", "--format", "json"}, args...)...)
	cmd.Dir = env.Root // not a git repository: only the tag rules apply
	return s.h.RunCmd(cmd)
}

type kubeDecision struct {
	Keep           bool
	Reason, Detail string
}

func decisions(t *testing.T, res *icmd.Result) map[string]kubeDecision {
	t.Helper()
	var out struct {
		Tags []struct {
			Tag, Reason, Detail string
			Keep                bool
		}
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out), res.Combined())
	got := map[string]kubeDecision{}
	for _, tg := range out.Tags {
		got[tg.Tag] = kubeDecision{tg.Keep, tg.Reason, tg.Detail}
	}
	return got
}

// assertInUse checks that exactly the tags in want are kept as in use, each
// with a detail naming its context, namespace, kind and name.
func (s *kubeScene) assertInUse(t *testing.T, res *icmd.Result, contextOf func(ns string) string, want ...string) {
	t.Helper()
	res.Assert(t, icmd.Success)
	got := decisions(t, res)
	wanted := map[string]bool{}
	for _, tag := range want {
		wanted[tag] = true
		ns, rest, _ := strings.Cut(s.users[tag], "/")
		kind, name, _ := strings.Cut(rest, "/")
		d := got[tag]
		assert.Check(t, is.Equal(d.Reason, "in-use"), "tag %s: %+v", tag, d)
		assert.Check(t, d.Keep, "tag %s", tag)
		assert.Check(t, is.Contains(d.Detail, fmt.Sprintf("context %s, namespace %s, %s %s", contextOf(ns), ns, kind, name)), "tag %s", tag)
	}
	for tag, d := range got {
		if !wanted[tag] {
			assert.Check(t, d.Reason != "in-use", "tag %s is not in use but: %+v", tag, d)
		}
	}
	assert.Check(t, is.Equal(got["unused"].Keep, false), "%+v", got["unused"])
	assert.Check(t, is.Equal(got["newest"].Keep, true))
}

// TestCleanupKeepsWhatKubernetesRuns: a real API server with objects of
// every workload kind in three namespaces; cleanup keeps every tag they
// use, by tag and by digest, through the kubeconfig forms kubectl reads.
func TestCleanupKeepsWhatKubernetesRuns(t *testing.T) {
	s := newKubeScene(t)
	k := s.kube
	webTags := []string{"pod", "init", "ephemeral", "status-only", "by-digest", "multi", "deployment", "replicaset",
		"statefulset", "daemonset", "rc"}
	jobTags := []string{"job", "cronjob"}
	all := append(append(append([]string{}, webTags...), jobTags...), "other-ns")
	same := func(name string) func(string) string { return func(string) string { return name } }

	t.Run("all namespaces of one context", func(t *testing.T) {
		env := s.env(t)
		kc := harness.WriteKubeConfig(t, filepath.Join(env.Root, "admin.yaml"), k.Context("prod", harness.KubeAdmin, ""))
		res := s.cleanup(env, "--dry-run", "--kube-config", kc)
		s.assertInUse(t, res, same("prod"), all...)
	})

	t.Run("KUBECONFIG with two files, each context's namespace only", func(t *testing.T) {
		env := s.env(t)
		web := harness.WriteKubeConfig(t, filepath.Join(env.Root, "web.yaml"), k.Context("web-ctx", harness.KubeWebUser, "web"))
		jobs := harness.WriteKubeConfig(t, filepath.Join(env.Root, "jobs.yaml"), k.Context("jobs-ctx", harness.KubeAdmin, "jobs"))
		env.Set("KUBECONFIG", web+":"+jobs).Set("WERF_SCAN_CONTEXT_NAMESPACE_ONLY", "true")
		res := s.cleanup(env, "--dry-run")
		ctxOf := func(ns string) string { return ns + "-ctx" }
		s.assertInUse(t, res, ctxOf, append(append([]string{}, webTags...), jobTags...)...)
		assert.Check(t, is.Contains(res.Stderr(), "jobs-ctx, web-ctx"))

		// --kube-context scans that context alone.
		res = s.cleanup(env, "--dry-run", "--kube-context", "jobs-ctx")
		s.assertInUse(t, res, ctxOf, jobTags...)
	})

	t.Run("a kubeconfig in base64, as CI variables carry it", func(t *testing.T) {
		env := s.env(t)
		kc := harness.WriteKubeConfig(t, filepath.Join(env.Root, "b64.yaml"), k.Context("ci", harness.KubeAdmin, "jobs"))
		data, err := os.ReadFile(kc)
		assert.NilError(t, err)
		b64 := base64.StdEncoding.EncodeToString(data)
		s.h.Secret(b64)
		assert.NilError(t, os.Remove(kc))
		res := s.cleanup(env.Set("KUBECONFIG_BASE64", b64), "--dry-run", "--scan-context-namespace-only")
		s.assertInUse(t, res, same("ci"), jobTags...)

		res = s.cleanup(env.Set("KUBECONFIG_BASE64", "").Set("WERF_KUBE_CONFIG_BASE64", "not base64!"), "--dry-run")
		res.Assert(t, icmd.Expected{ExitCode: 1, Err: "invalid --kube-config-base64 (WERF_KUBE_CONFIG_BASE64)"})
	})

	t.Run("~/.kube/config is read by default", func(t *testing.T) {
		env := s.env(t)
		harness.WriteKubeConfig(t, filepath.Join(env.Home, ".kube", "config"), k.Context("home", harness.KubeAdmin, "jobs"))
		res := s.cleanup(env, "--dry-run", "--scan-context-namespace-only")
		s.assertInUse(t, res, same("home"), jobTags...)
	})

	fails := []struct {
		name, want string
		ctx        harness.KubeContext
	}{
		{"a user without the right to list everywhere (403)", `kube context "web-ctx"`,
			k.Context("web-ctx", harness.KubeWebUser, "web")},
		{"a user with no rights (403)", "forbidden", k.Context("nobody-ctx", harness.KubeNobody, "")},
		{"a token the server does not know (401)", "Unauthorized",
			harness.KubeContext{Name: "stale", Server: k.Server, CAFile: k.CAFile, Token: "kube-not-a-token"}},
		{"a server nobody answers on", `kube context "gone"`,
			harness.KubeContext{Name: "gone", Server: "https://" + harness.FreeAddr(t), CAFile: k.CAFile, Token: "x"}},
		{"a server whose CA is not the kubeconfig's", "certificate",
			harness.KubeContext{Name: "untrusted", Server: k.Server, Token: k.Tokens[harness.KubeAdmin]}},
	}
	for _, tc := range fails {
		t.Run("fails on "+tc.name, func(t *testing.T) {
			env := s.env(t)
			good := k.Context("prod", harness.KubeAdmin, "")
			kc := harness.WriteKubeConfig(t, filepath.Join(env.Root, "kube.yaml"), good, tc.ctx)
			before := sorted(s.pusher.Tags(s.repo))
			res := s.cleanup(env, "--kube-config", kc) // not dry: nothing may be deleted
			res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.want})
			assert.Check(t, is.Contains(res.Stderr(), `kube context "`+tc.ctx.Name+`"`))
			assert.Check(t, is.Contains(res.Stderr(), "--without-kube"))
			assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), before))

			// --without-kube (or its variable) goes on without the clusters.
			res = s.cleanup(env.Set("WERF_WITHOUT_KUBE", "1"), "--kube-config", kc, "--dry-run")
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Equal(decisions(t, res)["deployment"].Keep, false))
		})
	}

	t.Run("no kubeconfig says once that clusters are not protected", func(t *testing.T) {
		env := s.env(t)
		res := s.cleanup(env, "--dry-run")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(strings.Count(res.Stderr(), "not protected"), 1), res.Stderr())
		assert.Check(t, is.Equal(decisions(t, res)["deployment"].Keep, false))
		res = s.cleanup(env, "--dry-run", "--without-kube")
		assert.Check(t, !strings.Contains(res.Stderr(), "not protected"), res.Stderr())
	})

	t.Run("a real run deletes only what no cluster uses", func(t *testing.T) {
		env := s.env(t)
		kc := harness.WriteKubeConfig(t, filepath.Join(env.Root, "admin.yaml"), k.Context("prod", harness.KubeAdmin, ""))
		res := s.cleanup(env, "--kube-config", kc)
		s.assertInUse(t, res, same("prod"), all...)
		assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), sorted(append(append([]string{}, all...), "newest"))))
	})

	// Keep this one last: its real run deletes every tag the clusters run.
	t.Run("werf.yaml's cleanup.disableKubernetesBasedPolicy: true does not scan, unless the flag says to", func(t *testing.T) {
		env := s.env(t)
		kc := harness.WriteKubeConfig(t, filepath.Join(env.Root, "admin.yaml"), k.Context("prod", harness.KubeAdmin, ""))
		werfYAML := func(value string) string {
			p := filepath.Join(env.Root, "werf-"+value+".yaml")
			data := "project: shop\nconfigVersion: 1\ncleanup:\n  disableKubernetesBasedPolicy: " + value + "\n---\nimage: app\n"
			assert.NilError(t, os.WriteFile(p, []byte(data), 0o600))
			return p
		}
		on, off := werfYAML("true"), werfYAML("false")
		const notice = "clusters are not scanned because werf.yaml says so"

		// false: the clusters are asked, and what they run is kept.
		res := s.cleanup(env, "--dry-run", "--kube-config", kc, "--werf-config", off)
		s.assertInUse(t, res, same("prod"), all...)
		assert.Check(t, !strings.Contains(res.Stderr(), notice), res.Stderr())

		// true, but --without-kube=false (or WERF_WITHOUT_KUBE=false) given: the flag wins.
		res = s.cleanup(env, "--dry-run", "--kube-config", kc, "--werf-config", on, "--without-kube=false")
		s.assertInUse(t, res, same("prod"), all...)
		assert.Check(t, !strings.Contains(res.Stderr(), notice), res.Stderr())
		res = s.cleanup(env.Set("WERF_WITHOUT_KUBE", "false"), "--dry-run", "--kube-config", kc, "--werf-config", on)
		s.assertInUse(t, res, same("prod"), all...)
		env.Set("WERF_WITHOUT_KUBE", "")

		// true: a real run deletes the deployed tags that the policy does not
		// keep, and says once why the clusters were not asked.
		assert.Assert(t, is.Contains(s.pusher.Tags(s.repo), "deployment"))
		res = s.cleanup(env, "--kube-config", kc, "--werf-config", on)
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(strings.Count(res.Stderr(), notice), 1), res.Stderr())
		assert.Check(t, is.Contains(res.Stderr(), "cleanup.disableKubernetesBasedPolicy: true at "+on+":4"))
		assert.Check(t, !strings.Contains(res.Stderr(), "kubernetes: "), "the clusters were asked: %s", res.Stderr())
		got := decisions(t, res)
		for _, tag := range all {
			assert.Check(t, !got[tag].Keep && got[tag].Reason != "in-use", "tag %s: %+v", tag, got[tag])
		}
		assert.Check(t, is.DeepEqual(sorted(s.pusher.Tags(s.repo)), []string{"newest"}))
	})
}

// TestKubeScanPagesAndServiceAccount: 10,000 Pods come back over many list
// pages, and a Pod's service account (token, CA, namespace) is read when
// there is no kubeconfig.
func TestKubeScanPagesAndServiceAccount(t *testing.T) {
	k := harness.StartKube(t)
	k.CreateNamespaces(t, "many", "zzz")
	c := k.Client(t, harness.KubeAdmin)
	const pods = 10000
	createPods(t, c, "many", pods-1, "registry.example.com/crowd:v1")
	_, err := c.CoreV1().Pods("zzz").Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "zzz-last"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/app:last-page"}}}}, metav1.CreateOptions{})
	assert.NilError(t, err)

	sa := t.TempDir()
	harness.WriteFile(t, filepath.Join(sa, "token"), k.Tokens[harness.KubeAdmin])
	harness.CopyFile(t, k.CAFile, filepath.Join(sa, "ca.crt"))
	harness.WriteFile(t, filepath.Join(sa, "namespace"), "zzz")
	host, port, _ := strings.Cut(strings.TrimPrefix(k.Server, "https://"), ":")
	env := map[string]string{"KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port, "HOME": t.TempDir()}
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	opts := kubescan.Options{ServiceAccountDir: sa, Getenv: func(k string) string { return env[k] }, PageSize: 500}

	clusters, err := kubescan.Clusters(opts)
	assert.NilError(t, err)
	assert.Equal(t, len(clusters), 1)
	assert.Equal(t, clusters[0].Context, kubescan.InClusterContext)
	uses, err := kubescan.Scan(context.Background(), clusters, opts)
	assert.NilError(t, err)
	podsSeen := 0
	for _, u := range uses {
		if u.Kind == "Pod" {
			podsSeen++
		}
	}
	assert.Equal(t, podsSeen, pods)
	in := kubescan.Match("registry.example.com/app", uses)
	assert.DeepEqual(t, in.Tags["last-page"], []kubescan.Use{{Context: kubescan.InClusterContext, Namespace: "zzz", Kind: "Pod",
		Name: "zzz-last", Image: "registry.example.com/app:last-page"}})

	opts.ContextNamespaceOnly = true
	clusters, err = kubescan.Clusters(opts)
	assert.NilError(t, err)
	assert.Equal(t, clusters[0].Namespace, "zzz")
	uses, err = kubescan.Scan(context.Background(), clusters, opts)
	assert.NilError(t, err)
	assert.Equal(t, len(uses), 1)
}

// createPods creates n Pods in ns with parallel requests.
func createPods(t *testing.T, c *kubernetes.Clientset, ns string, n int, image string) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				_, err := c.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p-%05d", i)},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image}}}}, metav1.CreateOptions{})
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("creating pods: %v", err)
	default:
	}
}
