package harness

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/poll"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Test tools for the Kubernetes API server.
const (
	ToolKubeAPIServer = "kube-apiserver" // built from k8s.io/kubernetes by e2e/testdeps.sh
	ToolKine          = "kine"           // etcd API on sqlite
)

// Users of every [Kube]: each logs in with a bearer token from the server's
// token file.
const (
	KubeAdmin   = "admin"  // system:masters
	KubeNobody  = "nobody" // authenticated, no RBAC rights
	KubeWebUser = "web"    // may list everything in namespace "web" only (see Kube.GrantNamespace)
)

// Kube is a real kube-apiserver on 127.0.0.1 over kine's sqlite store, with
// TLS from a CA of its own (not the one Envs trust through SSL_CERT_FILE)
// and bearer tokens. Nothing schedules or runs Pods: objects are only
// stored, which is all a scan reads.
type Kube struct {
	Server string // https://127.0.0.1:PORT
	CAFile string // PEM of the CA that signed the server's certificate
	Tokens map[string]string
	Dir    string
}

// StartKube starts kine and kube-apiserver as child processes stopped at
// test cleanup. Missing tools fail the test in CI and skip it elsewhere.
func StartKube(t testing.TB) *Kube {
	t.Helper()
	apiserver, kine := Tool(t, ToolKubeAPIServer), Tool(t, ToolKine)
	dir := t.TempDir()
	k := &Kube{Dir: dir, Tokens: map[string]string{}}
	c, err := newCA(dir)
	if err != nil {
		t.Fatalf("harness: kube CA: %v", err)
	}
	k.CAFile = c.file
	certFile, keyFile, err := c.issue(dir)
	if err != nil {
		t.Fatalf("harness: kube certificate: %v", err)
	}
	saKey, saPub := writeServiceAccountKey(t, dir)
	var tokens strings.Builder
	for _, u := range []struct{ name, groups string }{{KubeAdmin, "system:masters"}, {KubeNobody, ""}, {KubeWebUser, ""}} {
		k.Tokens[u.name] = "kube-" + u.name + "-" + randomString(24)
		fmt.Fprintf(&tokens, "%s,%s,%s-uid,%q\n", k.Tokens[u.name], u.name, u.name, u.groups)
	}
	tokenFile := filepath.Join(dir, "tokens.csv")
	writeFile0600(t, tokenFile, tokens.String())

	etcdAddr := startKine(t, kine, dir)
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	k.Server = "https://" + addr
	args := []string{
		"--etcd-servers=http://" + etcdAddr,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port=" + port,
		"--endpoint-reconciler-type=none",
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + certFile, "--tls-private-key-file=" + keyFile,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + saPub, "--service-account-signing-key-file=" + saKey,
		"--token-auth-file=" + tokenFile,
		"--authorization-mode=RBAC",
		// No controller-manager creates the default ServiceAccount that
		// this plugin wants every Pod to have.
		"--disable-admission-plugins=ServiceAccount",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--enable-priority-and-fairness=false",
	}
	logFile := filepath.Join(dir, "kube-apiserver.log")
	startChild(t, apiserver, args, dir, logFile)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.pool()}}}
	defer client.CloseIdleConnections()
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		req, _ := http.NewRequest(http.MethodGet, k.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+k.Tokens[KubeAdmin])
		resp, err := client.Do(req)
		if err != nil {
			return poll.Continue("kube-apiserver at %s: %v; log:\n%s", k.Server, err, tailFile(logFile, 30))
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return poll.Success()
		}
		return poll.Continue("kube-apiserver /readyz answered %s; log:\n%s", resp.Status, tailFile(logFile, 30))
	}, poll.WithDelay(200*time.Millisecond), poll.WithTimeout(90*time.Second))
	return k
}

// startKine runs kine on a sqlite file in dir and returns its address once
// it accepts connections.
func startKine(t testing.TB, bin, dir string) string {
	t.Helper()
	addr := FreeAddr(t)
	logFile := filepath.Join(dir, "kine.log")
	startChild(t, bin, []string{
		"--listen-address", addr, "--metrics-bind-address", "0",
		"--endpoint", "sqlite://" + filepath.Join(dir, "state.db") + "?_journal=WAL&cache=shared",
	}, dir, logFile)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return poll.Continue("kine at %s: %v; log:\n%s", addr, err, tailFile(logFile, 20))
		}
		_ = conn.Close()
		return poll.Success()
	}, poll.WithDelay(50*time.Millisecond), poll.WithTimeout(30*time.Second))
	return addr
}

// startChild starts a long-running tool that logs to logFile; test cleanup
// stops it with SIGTERM (SIGKILL after 10 s). Cleanups run last-in first-out,
// so the API server stops before the kine it needs.
func startChild(t testing.TB, bin string, args []string, dir, logFile string) {
	t.Helper()
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir}
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		t.Fatalf("harness: start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s log tail:\n%s", filepath.Base(bin), tailFile(logFile, 30))
		}
	})
}

func tailFile(path string, lines int) string {
	b, _ := os.ReadFile(path)
	return tail(string(b), lines)
}

func writeFile0600(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatalf("harness: %v", err)
	}
}

// writeServiceAccountKey writes the key pair the API server signs and
// checks service account tokens with.
func writeServiceAccountKey(t testing.TB, dir string) (keyFile, pubFile string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	keyFile, pubFile = filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	writeFile0600(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})))
	writeFile0600(t, pubFile, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})))
	return keyFile, pubFile
}

// Config is a client-go config for one of the server's users.
func (k *Kube) Config(user string) *rest.Config {
	return &rest.Config{Host: k.Server, BearerToken: k.Tokens[user],
		TLSClientConfig: rest.TLSClientConfig{CAFile: k.CAFile},
		QPS:             -1, // no client-side rate limit: tests create many objects
	}
}

// Client is a typed client of the server as user.
func (k *Kube) Client(t testing.TB, user string) *kubernetes.Clientset {
	t.Helper()
	c, err := kubernetes.NewForConfig(k.Config(user))
	if err != nil {
		t.Fatalf("harness: kube client: %v", err)
	}
	return c
}

// KubeContext is one context of a kubeconfig written by [WriteKubeConfig].
type KubeContext struct {
	Name      string
	Server    string
	CAFile    string // "" trusts the system roots
	Token     string
	Namespace string
}

// WriteKubeConfig writes a kubeconfig (0600) with the given contexts, the
// first one current, and returns its path.
func WriteKubeConfig(t testing.TB, path string, contexts ...KubeContext) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\n")
	if len(contexts) > 0 {
		fmt.Fprintf(&b, "current-context: %q\n", contexts[0].Name)
	}
	b.WriteString("clusters:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %q\n  cluster:\n    server: %q\n", c.Name, c.Server)
		if c.CAFile != "" {
			fmt.Fprintf(&b, "    certificate-authority: %q\n", c.CAFile)
		}
	}
	b.WriteString("users:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %q\n  user:\n    token: %q\n", c.Name, c.Token)
	}
	b.WriteString("contexts:\n")
	for _, c := range contexts {
		fmt.Fprintf(&b, "- name: %q\n  context:\n    cluster: %q\n    user: %q\n", c.Name, c.Name, c.Name)
		if c.Namespace != "" {
			fmt.Fprintf(&b, "    namespace: %q\n", c.Namespace)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatalf("harness: %v", err)
	}
	writeFile0600(t, path, b.String())
	return path
}

// Context is a kubeconfig context for user on this server.
func (k *Kube) Context(name, user, namespace string) KubeContext {
	return KubeContext{Name: name, Server: k.Server, CAFile: k.CAFile, Token: k.Tokens[user], Namespace: namespace}
}

// GrantNamespace lets user list every object in namespace ns (creating the
// namespace), and waits until the authorizer says so.
func (k *Kube) GrantNamespace(t testing.TB, user, ns string) {
	t.Helper()
	ctx := context.Background()
	admin := k.Client(t, KubeAdmin)
	k.CreateNamespaces(t, ns)
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "read-all", Namespace: ns},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}}}}
	if _, err := admin.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("harness: role: %v", err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "read-all-" + user, Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "read-all"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}
	if _, err := admin.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("harness: role binding: %v", err)
	}
	c := k.Client(t, user)
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if _, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return poll.Continue("%s listing deployments in %s: %v", user, ns, err)
		}
		return poll.Success()
	}, poll.WithDelay(100*time.Millisecond), poll.WithTimeout(30*time.Second))
}

// CreateNamespaces creates namespaces that do not exist yet.
func (k *Kube) CreateNamespaces(t testing.TB, names ...string) {
	t.Helper()
	admin := k.Client(t, KubeAdmin)
	for _, n := range names {
		_, err := admin.CoreV1().Namespaces().Create(context.Background(),
			&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("harness: namespace %s: %v", n, err)
		}
	}
}

// WriteFile writes a 0600 file.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	writeFile0600(t, path, content)
}

// CopyFile copies src to a 0600 file dst.
func CopyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("harness: %v", err)
	}
	writeFile0600(t, dst, string(b))
}
