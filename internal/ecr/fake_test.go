package ecr

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeECR speaks the ECR API (AWS JSON 1.1: POST / with X-Amz-Target,
// SigV4-signed) for one repository, plus the parts of the registry API
// (Basic AWS:<token> from GetAuthorizationToken) and of S3 (the blob
// redirect target) that reading manifests and image configs needs. It fails
// the test on any request it does not expect.
type fakeECR struct {
	t         *testing.T
	account   string
	region    string
	repo      string
	accessKey string // the access key id it accepts
	regPass   string // the registry password GetAuthorizationToken hands out
	srv       *httptest.Server
	s3        *httptest.Server

	mu        sync.Mutex
	images    map[string]*fakeImage // by digest
	tags      map[string]string     // tag -> digest
	blobs     map[string][]byte     // image configs by digest
	writes    []string
	calls     map[string]int    // API operation -> count
	faults    []fault           // answered in order, one per matching request
	pageCap   int               // the server returns at most this many per page (0: maxResults)
	repeatTok bool              // DescribeImages answers the same nextToken forever
	emptyPage bool              // DescribeImages answers an empty first page with a nextToken
	lastDesc  map[string]any    // the last DescribeImages request
	refs      map[string]string // child digest -> index digest that refers to it
}

type fakeImage struct {
	digest    string
	mediaType string
	manifest  []byte
	pushedAt  time.Time
	subject   string
	status    string
}

// fault answers one request of op (or any op when op is "").
type fault struct {
	op     string
	status int
	code   string
	msg    string
}

const (
	fakeAccount = "123456789012"
	fakeRegion  = "eu-west-1"
	fakeRepo    = "team/app"
	fakeKey     = "AKIAFAKEFAKEFAKE0001"
	fakeSecret  = "fake-secret-9f8e7d6c5b4a"
)

func newFakeECR(t *testing.T) *fakeECR {
	f := &fakeECR{
		t: t, account: fakeAccount, region: fakeRegion, repo: fakeRepo, accessKey: fakeKey,
		regPass: "registry-password-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		images:  map[string]*fakeImage{}, tags: map[string]string{}, blobs: map[string][]byte{},
		calls: map[string]int{}, refs: map[string]string{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.s3 = httptest.NewServer(http.HandlerFunc(f.serveS3))
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.s3.Close)
	return f
}

func (f *fakeECR) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// addImage stores an image manifest with a config carrying created and the
// revision label, and tags it.
func (f *fakeECR) addImage(name string, pushedAt time.Time, tags ...string) string {
	f.t.Helper()
	cfg := fmt.Appendf(nil, `{"created":%q,"architecture":"amd64","os":"linux","config":{"Labels":{"org.opencontainers.image.revision":"rev-%s"}},"rootfs":{"type":"layers","diff_ids":[]}}`,
		pushedAt.Add(-time.Minute).Format(time.RFC3339Nano), name)
	cfgDigest := digestOf(cfg)
	m := fmt.Appendf(nil, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[],`+
		`"annotations":{"name":%q}}`, cfgDigest, len(cfg), name)
	d := digestOf(m)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobs[cfgDigest] = cfg
	f.images[d] = &fakeImage{digest: d, mediaType: "application/vnd.oci.image.manifest.v1+json", manifest: m,
		pushedAt: pushedAt, status: "ACTIVE"}
	for _, t := range tags {
		f.tags[t] = d
	}
	return d
}

// addIndex stores an image index over children (digests) and tags it.
func (f *fakeECR) addIndex(pushedAt time.Time, children []string, tags ...string) string {
	var ms []string
	for _, c := range children {
		ms = append(ms, fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":%q,"size":%d,"platform":{"os":"linux","architecture":"amd64"}}`,
			c, len(f.images[c].manifest)))
	}
	m := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` + strings.Join(ms, ",") + `]}`)
	d := digestOf(m)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[d] = &fakeImage{digest: d, mediaType: "application/vnd.oci.image.index.v1+json", manifest: m,
		pushedAt: pushedAt, status: "ACTIVE"}
	for _, c := range children {
		f.refs[c] = d
	}
	for _, t := range tags {
		f.tags[t] = d
	}
	return d
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func (f *fakeECR) tagList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for t := range f.tags {
		out = append(out, t)
	}
	sort.Strings(out)
	if out == nil {
		out = []string{}
	}
	return out
}

func (f *fakeECR) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *fakeECR) addFault(op string, status int, code, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fault{op: op, status: status, code: code, msg: msg})
}

func (f *fakeECR) writeList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.writes)
}

func (f *fakeECR) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/":
		f.serveAPI(w, r)
	case r.URL.Path == "/v2/" || strings.HasPrefix(r.URL.Path, "/v2/"+f.repo+"/"):
		f.serveRegistry(w, r)
	default:
		f.t.Errorf("fake ECR: unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// The SigV4 Authorization header: algorithm, credential scope, signed
// headers and a signature.
var sigV4 = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, ` +
	`SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

const targetPrefix = "AmazonEC2ContainerRegistry_V20150921."

func (f *fakeECR) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		f.t.Errorf("fake ECR: %s / (want POST)", r.Method)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), targetPrefix)
	if !ok {
		f.t.Errorf("fake ECR: X-Amz-Target %q", r.Header.Get("X-Amz-Target"))
		apiErr(w, http.StatusBadRequest, "UnknownOperationException", "")
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		f.t.Errorf("fake ECR: %s with Content-Type %q", op, ct)
	}
	m := sigV4.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil || r.Header.Get("X-Amz-Date") == "" {
		f.t.Errorf("fake ECR: %s without a SigV4 signature (Authorization header present: %t)", op, r.Header.Get("Authorization") != "")
		apiErr(w, http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	if m[3] != f.region || m[4] != "ecr" || !strings.Contains(m[5], "x-amz-target") {
		f.t.Errorf("fake ECR: credential scope region %q service %q, signed headers %q", m[3], m[4], m[5])
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		f.t.Errorf("fake ECR: %s body: %v", op, err)
		apiErr(w, http.StatusBadRequest, "SerializationException", "")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if m[1] != f.accessKey {
		apiErr(w, http.StatusBadRequest, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	for i, ft := range f.faults {
		if ft.op == "" || ft.op == op {
			f.faults = slices.Delete(f.faults, i, i+1)
			apiErr(w, ft.status, ft.code, ft.msg)
			return
		}
	}
	if op != "GetAuthorizationToken" {
		if body["registryId"] != f.account || body["repositoryName"] != f.repo {
			apiErr(w, http.StatusBadRequest, "RepositoryNotFoundException", fmt.Sprintf(
				"The repository with name '%v' does not exist in the registry with id '%v'", body["repositoryName"], body["registryId"]))
			return
		}
	}
	switch op {
	case "DescribeImages":
		f.lastDesc = body
		f.describeImages(w, body)
	case "ListImages":
		f.listImages(w, body)
	case "BatchDeleteImage":
		ids, _ := json.Marshal(body["imageIds"])
		f.writes = append(f.writes, "BatchDeleteImage "+string(ids))
		f.batchDelete(w, body)
	case "GetAuthorizationToken":
		if len(body) != 0 {
			f.t.Errorf("fake ECR: GetAuthorizationToken with %v (registryIds is deprecated)", body)
		}
		tok := base64.StdEncoding.EncodeToString([]byte("AWS:" + f.regPass))
		writeJSON(w, map[string]any{"authorizationData": []any{map[string]any{
			"authorizationToken": tok, "expiresAt": epoch(time.Now().Add(12 * time.Hour)),
			"proxyEndpoint": "https://" + f.account + ".dkr.ecr." + f.region + ".amazonaws.com",
		}}})
	default:
		f.t.Errorf("fake ECR: unexpected operation %s", op)
		apiErr(w, http.StatusBadRequest, "UnknownOperationException", op)
	}
}

// apiErr answers an AWS JSON 1.1 error; code "" is a bare status (a 429
// from a load balancer, say).
func apiErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-Requestid", "req-"+strconv.Itoa(status))
	if code == "" {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code+":http://internal.amazon.com/coral/com.amazonaws.containerregistry.v20150921/")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "req-ok")
	_ = json.NewEncoder(w).Encode(v)
}

// epoch is how AWS JSON protocols put timestamps on the wire: seconds.
func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (f *fakeECR) tagsOf(d string) []string {
	var tags []string
	for t, td := range f.tags {
		if td == d {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return tags
}

func (f *fakeECR) detail(img *fakeImage) map[string]any {
	d := map[string]any{
		"registryId": f.account, "repositoryName": f.repo, "imageDigest": img.digest,
		"imageSizeInBytes": 1234, "imagePushedAt": epoch(img.pushedAt), "imageManifestMediaType": img.mediaType,
		"artifactMediaType": "application/vnd.oci.image.config.v1+json", "imageStatus": img.status,
	}
	if tags := f.tagsOf(img.digest); tags != nil {
		d["imageTags"] = tags
	}
	if img.subject != "" {
		d["subjectManifestDigest"] = img.subject
	}
	return d
}

// page applies maxResults (1-1000, default 100) and an opaque nextToken to n items.
func (f *fakeECR) page(w http.ResponseWriter, body map[string]any, n int) (from, to int, next string, ok bool) {
	size := 100
	if v, has := body["maxResults"]; has {
		mr, _ := v.(float64)
		if mr < 1 || mr > 1000 {
			apiErr(w, http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(
				"1 validation error detected: Value '%v' at 'maxResults' failed to satisfy constraint: "+
					"Member must have value less than or equal to 1000", v))
			return 0, 0, "", false
		}
		size = int(mr)
	}
	if f.pageCap > 0 {
		size = min(size, f.pageCap)
	}
	if tok, has := body["nextToken"].(string); has {
		raw, err := base64.StdEncoding.DecodeString(tok)
		off, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "offset:"))
		if err != nil || err2 != nil || off < 0 || off > n {
			apiErr(w, http.StatusBadRequest, "InvalidParameterException", "Invalid parameter at 'nextToken'")
			return 0, 0, "", false
		}
		from = off
	}
	to = min(from+size, n)
	if to < n {
		next = base64.StdEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(to)))
	}
	return from, to, next, true
}

// sortedImages filters as DescribeImages does: by tagStatus, and by
// imageStatus, which is ACTIVE when the filter does not say (the SDK's
// types.DescribeImagesFilter).
func (f *fakeECR) sortedImages(status, imageStatus string) []*fakeImage {
	if imageStatus == "" {
		imageStatus = "ACTIVE"
	}
	var imgs []*fakeImage
	for _, img := range f.images {
		tagged := len(f.tagsOf(img.digest)) > 0
		if (status == "TAGGED" && !tagged) || (status == "UNTAGGED" && tagged) ||
			(imageStatus != "ANY" && img.status != imageStatus) {
			continue
		}
		imgs = append(imgs, img)
	}
	sort.Slice(imgs, func(i, j int) bool { return imgs[i].digest < imgs[j].digest })
	return imgs
}

func (f *fakeECR) describeImages(w http.ResponseWriter, body map[string]any) {
	if ids, has := body["imageIds"].([]any); has {
		if body["maxResults"] != nil || body["nextToken"] != nil || body["filter"] != nil {
			apiErr(w, http.StatusBadRequest, "InvalidParameterException",
				"maxResults, nextToken and filter cannot be used with imageIds")
			return
		}
		var details []any
		for _, raw := range ids {
			id, _ := raw.(map[string]any)
			img := f.lookup(id)
			if img == nil {
				apiErr(w, http.StatusBadRequest, "ImageNotFoundException", fmt.Sprintf(
					"The image with imageId {imageDigest:'%v', imageTag:'%v'} does not exist within the repository "+
						"with name '%s' in the registry with id '%s'", id["imageDigest"], id["imageTag"], f.repo, f.account))
				return
			}
			details = append(details, f.detail(img))
		}
		writeJSON(w, map[string]any{"imageDetails": details})
		return
	}
	status, imageStatus := "ANY", ""
	if flt, ok := body["filter"].(map[string]any); ok {
		status, _ = flt["tagStatus"].(string)
		imageStatus, _ = flt["imageStatus"].(string)
	}
	if f.emptyPage {
		f.emptyPage = false
		writeJSON(w, map[string]any{"imageDetails": []any{},
			"nextToken": base64.StdEncoding.EncodeToString([]byte("offset:0"))})
		return
	}
	imgs := f.sortedImages(status, imageStatus)
	from, to, next, ok := f.page(w, body, len(imgs))
	if !ok {
		return
	}
	details := []any{}
	for _, img := range imgs[from:to] {
		details = append(details, f.detail(img))
	}
	out := map[string]any{"imageDetails": details}
	if f.repeatTok {
		next = base64.StdEncoding.EncodeToString([]byte("offset:0"))
	}
	if next != "" {
		out["nextToken"] = next
	}
	writeJSON(w, out)
}

// lookup finds the image an imageId names (tag wins; a digest must match).
func (f *fakeECR) lookup(id map[string]any) *fakeImage {
	tag, _ := id["imageTag"].(string)
	dig, _ := id["imageDigest"].(string)
	if tag != "" {
		d, ok := f.tags[tag]
		if !ok || (dig != "" && dig != d) {
			return nil
		}
		return f.images[d]
	}
	return f.images[dig]
}

func (f *fakeECR) listImages(w http.ResponseWriter, body map[string]any) {
	status := "ANY"
	if flt, ok := body["filter"].(map[string]any); ok {
		status, _ = flt["tagStatus"].(string)
	}
	var ids []map[string]any
	for _, img := range f.sortedImages(status, "") {
		tags := f.tagsOf(img.digest)
		if len(tags) == 0 {
			ids = append(ids, map[string]any{"imageDigest": img.digest})
		}
		for _, t := range tags {
			ids = append(ids, map[string]any{"imageDigest": img.digest, "imageTag": t})
		}
	}
	from, to, next, ok := f.page(w, body, len(ids))
	if !ok {
		return
	}
	out := map[string]any{"imageIds": append([]map[string]any{}, ids[from:to]...)}
	if next != "" {
		out["nextToken"] = next
	}
	writeJSON(w, out)
}

var digestPattern = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)

// batchDelete models BatchDeleteImage: a tag id removes that tag (and the
// image with its last tag), a digest id the image and all its tags; a tag
// with a digest only while the tag is on that digest. Failures come back
// inside the 200 answer.
func (f *fakeECR) batchDelete(w http.ResponseWriter, body map[string]any) {
	ids, _ := body["imageIds"].([]any)
	if len(ids) < 1 || len(ids) > 100 {
		apiErr(w, http.StatusBadRequest, "InvalidParameterException", "imageIds must have 1 to 100 members")
		return
	}
	deleted, failures := []any{}, []any{}
	fail := func(id map[string]any, code, reason string) {
		failures = append(failures, map[string]any{"imageId": id, "failureCode": code, "failureReason": reason})
	}
	for _, raw := range ids {
		id, _ := raw.(map[string]any)
		tag, _ := id["imageTag"].(string)
		dig, _ := id["imageDigest"].(string)
		switch {
		case tag == "" && dig == "":
			fail(id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null")
		case dig != "" && !digestPattern.MatchString(dig):
			fail(id, "InvalidImageDigest", "Invalid request parameters: image digest should satisfy the regex")
		case tag != "":
			d, ok := f.tags[tag]
			switch {
			case !ok:
				fail(id, "ImageNotFound", "Requested image not found")
			case dig != "" && dig != d:
				fail(id, "ImageTagDoesNotMatchDigest", "Invalid request parameters: given tag does not map to the given digest")
			case len(f.tagsOf(d)) == 1 && f.refs[d] != "" && f.images[f.refs[d]] != nil:
				fail(id, "ImageReferencedByManifestList", "Requested image referenced by manifest list: ["+f.refs[d]+"]")
			default:
				delete(f.tags, tag)
				if len(f.tagsOf(d)) == 0 {
					f.dropImage(d)
				}
				deleted = append(deleted, map[string]any{"imageDigest": d, "imageTag": tag})
			}
		default:
			img := f.images[dig]
			switch {
			case img == nil:
				fail(id, "ImageNotFound", "Requested image not found")
			case f.refs[dig] != "" && f.images[f.refs[dig]] != nil:
				fail(id, "ImageReferencedByManifestList", "Requested image referenced by manifest list: ["+f.refs[dig]+"]")
			default:
				tags := f.tagsOf(dig)
				for _, t := range tags {
					delete(f.tags, t)
					deleted = append(deleted, map[string]any{"imageDigest": dig, "imageTag": t})
				}
				if len(tags) == 0 {
					deleted = append(deleted, map[string]any{"imageDigest": dig})
				}
				f.dropImage(dig)
			}
		}
	}
	writeJSON(w, map[string]any{"imageIds": deleted, "failures": failures})
}

func (f *fakeECR) dropImage(d string) {
	delete(f.images, d)
	for c, idx := range f.refs {
		if idx == d {
			delete(f.refs, c)
		}
	}
}

// serveRegistry is the registry API as ECR serves it: Basic auth with user
// AWS and a GetAuthorizationToken password, blobs redirected to S3.
func (f *fakeECR) serveRegistry(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	user, pass, ok := r.BasicAuth()
	if !ok || user != "AWS" || pass != f.regPass {
		w.Header().Set("WWW-Authenticate", `Basic realm="https://`+r.Host+`/",service="ecr.amazonaws.com"`)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"errors":[{"code":"DENIED","message":"Not Authorized"}]}`)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		f.t.Errorf("fake ECR registry: unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/v2/" {
		w.WriteHeader(http.StatusOK)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/v2/"+f.repo+"/")
	switch {
	case strings.HasPrefix(rest, "manifests/"):
		ref := strings.TrimPrefix(rest, "manifests/")
		img := f.images[ref]
		if d, ok := f.tags[ref]; ok {
			img = f.images[d]
		}
		if img == nil {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"errors":[{"code":"MANIFEST_UNKNOWN","message":"Requested image not found"}]}`)
			return
		}
		w.Header().Set("Content-Type", img.mediaType)
		w.Header().Set("Docker-Content-Digest", img.digest)
		w.Header().Set("Content-Length", strconv.Itoa(len(img.manifest)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(img.manifest)
		}
	case strings.HasPrefix(rest, "blobs/"):
		d := strings.TrimPrefix(rest, "blobs/")
		if f.blobs[d] == nil {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		// ECR answers with a presigned S3 URL on another host.
		u := strings.Replace(f.s3.URL, "127.0.0.1", "localhost", 1) + "/layer/" + url.PathEscape(d) +
			"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=" + strings.Repeat("0", 64)
		http.Redirect(w, r, u, http.StatusTemporaryRedirect)
	default:
		f.t.Errorf("fake ECR registry: unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

func (f *fakeECR) serveS3(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		f.t.Errorf("fake S3: the registry's Authorization header followed the redirect")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	d, ok := strings.CutPrefix(r.URL.Path, "/layer/")
	if r.Method != http.MethodGet || !ok || r.URL.Query().Get("X-Amz-Signature") == "" {
		f.t.Errorf("fake S3: unexpected %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	f.mu.Lock()
	b := f.blobs[d]
	f.mu.Unlock()
	if b == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	_, _ = w.Write(b)
}
