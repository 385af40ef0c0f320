package registry

import "sync"

// specs is the support table, built on first use because the credential
// helper never needs it. Descriptions and notes summarise the registries'
// native APIs as cleanup uses them; Kind is filled in by SpecFor.
var specs = sync.OnceValue(func() map[Kind]Spec {
	return map[Kind]Spec{
		Default: {
			Name:        "Generic registry (Docker Registry HTTP API v2 / OCI distribution)",
			Hosts:       []string{"any host no other type matches"},
			Deletion:    overwriteThenDelete,
			Credentials: []Credential{dockerConfig},
			Notes: "Needs DELETE enabled (distribution: storage.delete.enabled) and a garbage collection run to free " +
				"space. werf's default implementation deletes by digest, which also removes every other tag on the image.",
		},
		DockerHub: {
			Name:  "Docker Hub",
			Hosts: []string{"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"},
			Deletion: Deletion{
				Method:    MethodHubTagAPI,
				UntagSafe: true,
				Description: "Deletes single tags through the Hub REST API " +
					"(DELETE https://hub.docker.com/v2/repositories/<namespace>/<repo>/tags/<tag>/); " +
					"Docker Hub's registry API cannot delete tagged manifests.",
			},
			Credentials: []Credential{
				flagCredential("Docker Hub token", CredDockerHubToken, "DOCKER_HUB_TOKEN",
					"Hub API token; when unset one is obtained with the username and password", true),
				flagCredential("Docker Hub username", CredDockerHubUsername, "DOCKER_HUB_USERNAME",
					"Docker ID or organisation name", false),
				flagCredential("Docker Hub password", CredDockerHubPassword, "DOCKER_HUB_PASSWORD",
					"account password or an access token with the repo:admin scope", true),
			},
			Notes: "Only <namespace>/<repo> paths. Hub API tokens expire after 10 minutes. werf's docs say only the " +
				"account password can delete; with SSO enforced a personal access token is required. Hub API rate limits " +
				"answer 429 with X-Retry-After.",
		},
		ECR: {
			Name: "Amazon Elastic Container Registry",
			Hosts: []string{
				"<12-digit account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]",
				"<12-digit account>.dkr-ecr.<region>.on.aws (dual-stack)",
				"the same on amazonaws.eu, sc2s.sgov.gov, c2s.ic.gov, cloud.adc-e.uk and csp.hci.ic.gov",
			},
			Deletion: Deletion{
				Method:            MethodECRBatchDeleteByTag,
				UntagSafe:         true,
				UntagDeletesImage: true,
				Description: "Removes single tags with the ECR API (BatchDeleteImage by imageTag) in the account and " +
					"region named by the host; an image goes when its last tag goes.",
			},
			Credentials: []Credential{{
				Name: "AWS credentials",
				Description: "the AWS SDK default credential chain: AWS_PROFILE / AWS_ACCESS_KEY_ID, " +
					"AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN / AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (IRSA) / " +
					"~/.aws config, SSO and credential_process / ECS and EC2 instance roles; needs ecr:DescribeImages, " +
					"ecr:BatchDeleteImage, and ecr:GetAuthorizationToken, ecr:BatchGetImage and " +
					"ecr:GetDownloadUrlForLayer to read image configs",
				Secret: true,
			}},
			Notes: "docker login to ECR (aws ecr get-login-password) is still needed for the registry API. " +
				"ECR Public (public.ecr.aws) is not detected as ECR. Lifecycle policies are an alternative.",
		},
		ACR: {
			Name:  "Azure Container Registry",
			Hosts: []string{"*.azurecr.io", "*.azurecr.cn", "*.azurecr.us", "*.azurecr.de"},
			Deletion: Deletion{
				Method:    MethodACRTagAPI,
				UntagSafe: true,
				Description: "Untags with the ACR metadata API (DELETE /acr/v1/<repo>/_tags/<tag>), " +
					"leaving other tags on the manifest; locked tags are refused.",
			},
			Credentials: []Credential{
				flagCredential("ACR username", CredACRUsername, "ACR_USERNAME",
					"admin user, repository-scoped token name or service principal id", false),
				flagCredential("ACR password", CredACRPassword, "ACR_PASSWORD",
					"password of that user, token or service principal", true),
				flagCredential("ACR token", CredACRToken, "ACR_TOKEN",
					"instead of username and password: an ACR refresh token, or a Microsoft Entra access token "+
						"(az account get-access-token) to exchange for one", true),
			},
			Notes: "werf runs `az acr repository delete --image`, which deletes the manifest and every tag on it. " +
				"Deleting needs the AcrDelete, Contributor or Owner role. Locked images (deleteEnabled=false) answer 405.",
		},
		GCR: {
			Name:  "Google Container Registry / Artifact Registry",
			Hosts: []string{"gcr.io", "*.gcr.io", "container.cloud.google.com", "<location>-docker.pkg.dev"},
			Deletion: Deletion{
				Method:    MethodOCITagDelete,
				UntagSafe: true,
				Description: "Untags with the registry API (DELETE /v2/<name>/manifests/<tag>), which GCR and Artifact " +
					"Registry support; other tags on the image survive.",
			},
			Credentials: []Credential{dockerConfig},
			Notes: "Log in with gcloud auth configure-docker or docker-credential-gcr, or with user oauth2accesstoken " +
				"and the output of gcloud auth print-access-token. werf detects Artifact Registry as default; " +
				"docker-werf detects it as gcr.",
		},
		GitHub: {
			Name:  "GitHub Packages container registry",
			Hosts: []string{"ghcr.io"},
			Deletion: Deletion{
				Method:    MethodGitHubPackageVersions,
				UntagSafe: false,
				Description: "Deletes package versions through the GitHub REST API " +
					"(DELETE /orgs/<org>/packages/container/<package>/versions/<id>, or /user/...); a version is one " +
					"manifest with all its tags, so it is deleted only when every tag on it is to go.",
			},
			Credentials: []Credential{
				flagCredential("GitHub token", CredGitHubToken, "GITHUB_TOKEN",
					"classic personal access token with read:packages and delete:packages; a workflow's GITHUB_TOKEN "+
						"needs admin access to the package", true),
			},
			Notes: "ghcr.io answers 405 to registry-API deletes. Public versions with more than 5,000 downloads cannot " +
				"be deleted. Deleted versions can be restored for 30 days. /user endpoints only reach the token owner's " +
				"packages. docker.pkg.github.com is the old GitHub Packages Docker registry, not the container " +
				"packages API: it is a generic registry here.",
		},
		GitLab: {
			Name:  "GitLab container registry",
			Hosts: []string{"registry.gitlab.com", "gitlab.com", "$CI_REGISTRY", "$CI_DEPENDENCY_PROXY_SERVER"},
			Deletion: Deletion{
				Method:    MethodGitLabTagAPI,
				UntagSafe: true,
				Description: "Deletes single tags through the GitLab API " +
					"(DELETE /projects/<id>/registry/repositories/<id>/tags/<tag>) or the registry's tag DELETE " +
					"(/v2/<name>/manifests/<tag>, GitLab 16.4+); other tags on the image survive.",
			},
			Credentials: []Credential{
				flagCredential("GitLab token", CredGitLabToken, "GITLAB_TOKEN",
					"project, group or personal access token with the api scope", true),
				dockerConfig,
			},
			Notes: "In a job, CI_JOB_TOKEN can delete only if the job's user has the right role and the project's job " +
				"token permissions allow it. Protected tags answer 403. The bulk tag-delete API runs at most once an hour " +
				"per repository.",
		},
		Harbor: {
			Name:  "Harbor",
			Hosts: []string{"harbor.*", "*.goharbor.io"},
			Deletion: Deletion{
				Method:    MethodHarborArtifactTagAPI,
				UntagSafe: true,
				Description: "Deletes single tags through the Harbor v2.0 API " +
					"(DELETE /api/v2.0/projects/<project>/repositories/<repo>/artifacts/<digest>/tags/<tag>); " +
					"immutable tags are refused.",
			},
			Credentials: []Credential{
				flagCredential("Harbor username", CredHarborUsername, "HARBOR_USERNAME",
					`user or robot account ("robot$name")`, false),
				flagCredential("Harbor password", CredHarborPassword, "HARBOR_PASSWORD",
					"password or robot account secret", true),
			},
			Notes: "Harbor's registry API refuses tag DELETE (400 UNSUPPORTED) and a digest DELETE removes every tag. " +
				"Immutable tags answer 412. Tag retention rules are an alternative.",
		},
		Quay: {
			Name:  "Quay",
			Hosts: []string{"quay.io", "quay.*.com"},
			Deletion: Deletion{
				Method:    MethodQuayTagAPI,
				UntagSafe: true,
				Description: "Deletes single tags through the Quay API (DELETE /api/v1/repository/<namespace>/<repo>/tag/<tag>); " +
					"deleted tags stay restorable during the time-machine window.",
			},
			Credentials: []Credential{
				flagCredential("Quay token", CredQuayToken, "QUAY_TOKEN",
					"OAuth2 access token of an organisation application with the repo:write scope", true),
			},
			Notes: "Tags in the time machine answer TAG_EXPIRED on the registry API.",
		},
		JFrog: {
			Name:        "JFrog Artifactory",
			Hosts:       []string{"*.jfrog.io"},
			Deletion:    overwriteThenDelete,
			Credentials: []Credential{dockerConfig},
			Notes: "werf serves Artifactory with its default implementation. Artifactory's own REST API deletes a tag " +
				"folder (DELETE /artifactory/<repo-key>/<image>/<tag>); \"Max Unique Tags\" caps growth on local repositories.",
		},
		Nexus: {
			Name:        "Sonatype Nexus Repository",
			Hosts:       []string{"nexus.*", "nexus-*"},
			Deletion:    overwriteThenDelete,
			Credentials: []Credential{dockerConfig},
			Notes: "werf serves Nexus with its default implementation. Space is freed only by the \"Docker - Delete " +
				"unused manifests and images\" and \"Compact blob store\" tasks.",
		},
		Yandex: {
			Name:        "Yandex Container Registry",
			Hosts:       []string{"cr.yandex"},
			Deletion:    overwriteThenDelete,
			Credentials: []Credential{dockerConfig},
			Notes: "werf serves Yandex with its default implementation. The Yandex Cloud API deletes whole images with " +
				"all their tags; lifecycle policies are an alternative.",
		},
		Selectel: {
			Name:  "Selectel Container Registry",
			Hosts: []string{"cr.selcloud.ru", "*.cr.selcloud.ru"},
			Deletion: Deletion{
				Method:    MethodSelectelAPI,
				UntagSafe: false,
				Description: "Deletes images by digest through the Selectel CRaaS API " +
					"(DELETE https://cr.selcloud.ru/api/v1/registries/<id>/repositories/<repo>/<digest>), which removes every tag on the image.",
			},
			Credentials: []Credential{
				flagCredential("Selectel username", CredSelectelUsername, "SELECTEL_USERNAME", "service user name", false),
				flagCredential("Selectel password", CredSelectelPassword, "SELECTEL_PASSWORD", "service user password", true),
				flagCredential("Selectel account", CredSelectelAccount, "SELECTEL_ACCOUNT", "account (domain) id", false),
				flagCredential("Selectel project", CredSelectelVPC, "SELECTEL_VPC", "project (VPC) name", false),
				flagCredential("Selectel project id", CredSelectelVPCID, "SELECTEL_VPC_ID",
					"project (VPC) id, instead of the name", false),
			},
			Notes: "werf dropped its Selectel implementation in 2024 and treats Selectel as a plain registry; " +
				"authenticating by project id was unreliable (use the name), and the API rate limit is low.",
		},
	}
})
