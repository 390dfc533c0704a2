package postgres

import (
	"slices"
	"testing"
)

// A text is looked up by trigram when it holds three letters or digits in
// a row, else by the pairs of characters without case it holds (two
// Chinese characters); a text with neither is matched as requests are read.
func TestTextLookups(t *testing.T) {
	for _, c := range []struct {
		text     string
		trigrams bool
		pairs    []string
	}{
		{"washer", true, nil},
		{"水龍頭", true, []string{"水龍", "龍頭"}},
		{"漏水", false, []string{"漏水"}},
		{"冷氣 機", false, []string{"冷氣", "氣 ", " 機"}},
		{"A漏", false, nil},
		{"ab", false, nil},
		{"12", false, nil},
		{"3樓", false, []string{"3樓"}},
		{"a b c", false, nil},
		{"%_", false, nil},
		{"漏", false, nil},
	} {
		if got := trigramsIn(c.text); got != c.trigrams {
			t.Errorf("trigramsIn(%q) = %v", c.text, got)
		}
		if got := bigramsIn(c.text); !slices.Equal(got, c.pairs) {
			t.Errorf("bigramsIn(%q) = %q, want %q", c.text, got, c.pairs)
		}
	}
}
