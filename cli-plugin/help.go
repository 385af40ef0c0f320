package main

import (
	"strings"
	"text/template"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-werf/docker-werf/internal/registry"
)

// The help of cleanup and purge, whose flags are too many for one list:
// docker's layout (usage line, description, examples), then the flags in
// sections, as docker groups its own output.

// The sections, in the order help shows them.
const (
	groupScope       = "Scope"
	groupPolicies    = "Policies"
	groupKubernetes  = "Kubernetes"
	groupAccess      = "Registry access"
	groupCredentials = "Per-registry API credentials"
	groupRun         = "Run and output"
)

var flagGroupOrder = []string{groupScope, groupPolicies, groupKubernetes, groupAccess, groupCredentials, groupRun}

// flagGroups is the section of each flag, by name. The flags of each
// registry's own API (--repo-quay-token and the like) come from the
// registry specs and go to groupCredentials without being listed.
var flagGroups = map[string]string{
	"repo":       groupScope,
	"tag-filter": groupScope,

	"git-dir":                         groupPolicies,
	"git-refs":                        groupPolicies,
	"werf-config":                     groupPolicies,
	"policy":                          groupPolicies,
	"no-keep-policies":                groupPolicies,
	"git-tag-strategy-limit":          groupPolicies,
	"git-tag-strategy-expiry-days":    groupPolicies,
	"git-commit-strategy-limit":       groupPolicies,
	"git-commit-strategy-expiry-days": groupPolicies,
	"keep-tag":                        groupPolicies,
	"keep-last":                       groupPolicies,
	"older-than":                      groupPolicies,
	"keep-younger-than":               groupPolicies,
	"keep-list":                       groupPolicies,
	"protected":                       groupPolicies,

	"kube-config":                 groupKubernetes,
	"kube-config-base64":          groupKubernetes,
	"kube-context":                groupKubernetes,
	"scan-context-namespace-only": groupKubernetes,
	"without-kube":                groupKubernetes,

	"repo-container-registry":  groupAccess,
	"repo-implementation":      groupAccess,
	"registry-username":        groupAccess,
	"registry-password":        groupAccess,
	"insecure-registry":        groupAccess,
	"skip-tls-verify-registry": groupAccess,

	"dry-run":          groupRun,
	"yes":              groupRun,
	"quiet":            groupRun,
	"delete-manifests": groupRun,
	"parallel":         groupRun,
	"request-timeout":  groupRun,
	"timeout":          groupRun,
	"format":           groupRun,
	"report":           groupRun,
	"image-cache-dir":  groupRun,
	"no-image-cache":   groupRun,
}

// groupedHelpCommands are the commands whose help shows flagGroups'
// sections (the children of the root, by name).
var groupedHelpCommands = []string{"cleanup", "purge"}

// flagGroup returns the section of the flag called name, "" for none.
func flagGroup(name string) string {
	if g, ok := flagGroups[name]; ok {
		return g
	}
	for _, k := range registry.Kinds() {
		for _, c := range registry.SpecFor(k).Credentials {
			if c.Key != "" && c.Flag == "--"+name {
				return groupCredentials
			}
		}
	}
	return ""
}

// setupHelp gives groupedHelpCommands their sectioned help.
func setupHelp(root *cobra.Command, dockerCLI command.Cli) {
	for _, c := range root.Commands() {
		for _, name := range groupedHelpCommands {
			if c.Name() == name {
				// docker's help is the usage text; cobra's own would print
				// the description twice.
				c.SetHelpTemplate("{{.UsageString}}")
				c.SetUsageFunc(func(c *cobra.Command) error {
					return groupedUsage.Execute(c.OutOrStderr(), groupedUsageData(c, termWidth(dockerCLI)))
				})
			}
		}
	}
}

var groupedUsage = template.Must(template.New("usage").Parse(`Usage:  {{.UseLine}}

{{.Description}}
{{- if .Example}}

Examples:
{{.Example}}
{{- end}}
{{- range .Sections}}

{{.Title}}:
{{.Flags}}
{{- end}}
`))

type usageData struct {
	UseLine, Description, Example string
	Sections                      []flagSection
}

type flagSection struct{ Title, Flags string }

func groupedUsageData(c *cobra.Command, width int) usageData {
	d := usageData{UseLine: c.UseLine(), Description: strings.TrimSpace(c.Long), Example: c.Example}
	if d.Description == "" {
		d.Description = strings.TrimSpace(c.Short)
	}
	sets := map[string]*pflag.FlagSet{}
	c.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" { // docker hides --help
			return
		}
		g := flagGroup(f.Name)
		if sets[g] == nil {
			sets[g] = pflag.NewFlagSet(g, pflag.ContinueOnError)
		}
		sets[g].AddFlag(f)
	})
	// A flag that no section holds is still shown, under docker's heading.
	for _, title := range append(flagGroupOrder, "") {
		if fs := sets[title]; fs != nil {
			if title == "" {
				title = "Options"
			}
			d.Sections = append(d.Sections, flagSection{title, strings.TrimRight(fs.FlagUsagesWrapped(width-1), " \n")})
		}
	}
	return d
}

// termWidth is the terminal's width, 80 columns when the output is no
// terminal (as docker's help).
func termWidth(dockerCLI command.Cli) int {
	if _, w := dockerCLI.Out().GetTtySize(); w > 0 {
		return int(w)
	}
	return 80
}
