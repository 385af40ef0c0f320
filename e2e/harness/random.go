package harness

import "crypto/rand"

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomString returns n random alphanumeric characters.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// RandomName returns prefix + 10 random lower-case letters and digits, for
// repository names, tags and user names.
func RandomName(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	const lower = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := range b {
		b[i] = lower[int(b[i])%len(lower)]
	}
	return prefix + string(b)
}
