package gitlab

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"

	"github.com/docker-werf/docker-werf/internal/registrytypes"
)

// GitLab authorizes a tag delete before it looks at protection, so a tag a
// protection rule keeps from this token's role answers a plain 403, the same
// as missing rights. The protection rules API
// (GET /projects/:id/registry/protection/tag/rules, lib/api/
// project_container_registry_protection_tag_rules.rb, GitLab 18.7+) tells
// the two apart: a 403 on a tag some rule's pattern matches is a protected
// tag, which cleanup keeps.

// protectionRule is one container registry protection tag rule.
type protectionRule struct {
	TagNamePattern string `json:"tag_name_pattern"`
}

// asProtected turns a plain 403 on deleting tag into ErrProtectedTag when
// a protection rule of the project matches the tag. Where the rules cannot
// be read (an older GitLab, a role that may not list them), e stays.
func (c *Client) asProtected(ctx context.Context, tag string, e *Error) *Error {
	if e.StatusCode != http.StatusForbidden || !errors.Is(e, registrytypes.ErrUnauthorized) || e.HasCode(codeInsufficientScope) {
		return e
	}
	pattern := c.protectingPattern(ctx, tag)
	if pattern == "" {
		return e
	}
	e.Kind = ErrProtectedTag
	e.Hint = "the tag is protected: it matches the protection rule " + strconv.Quote(pattern) + " of the project " +
		"(Settings > Packages and registries > Protected container tags), which this token's role may not override; " +
		"it is left alone"
	return e
}

// protectingPattern returns the pattern of the first rule matching tag, or
// "". GitLab's patterns are RE2 expressions (validated as untrusted
// regexps) matched anywhere in the name.
func (c *Client) protectingPattern(ctx context.Context, tag string) string {
	for _, r := range c.protectionRules(ctx) {
		re, err := regexp.Compile(r.TagNamePattern)
		if err == nil && re.MatchString(tag) {
			return r.TagNamePattern
		}
	}
	return ""
}

// protectionRules reads the project's rules once; nil where they cannot be
// read.
func (c *Client) protectionRules(ctx context.Context) []protectionRule {
	c.rulesMu.Lock()
	defer c.rulesMu.Unlock()
	if c.rulesRead {
		return c.rules
	}
	pid, _, err := c.locate(ctx)
	if err != nil {
		return nil
	}
	var rules []protectionRule
	if _, err := c.getJSON(ctx, "read protection rules of",
		c.endpoint("/projects/"+strconv.FormatInt(pid, 10)+"/registry/protection/tag/rules", nil), false, &rules); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		rules = nil
	}
	c.rules, c.rulesRead = rules, true
	return rules
}
