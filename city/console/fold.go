package console

import "strings"

// fold lowers s and strips Vietnamese diacritics, so that a search for
// "ban tin" finds "Bản tin" (people type without tones on a phone).
func fold(s string) string {
	return folder.Replace(strings.ToLower(s))
}

var folder = func() *strings.Replacer {
	groups := map[string]string{
		"a": "àáảãạăằắẳẵặâầấẩẫậ",
		"e": "èéẻẽẹêềếểễệ",
		"i": "ìíỉĩị",
		"o": "òóỏõọôồốổỗộơờớởỡợ",
		"u": "ùúủũụưừứửữự",
		"y": "ỳýỷỹỵ",
		"d": "đ",
	}
	var pairs []string
	for base, marked := range groups {
		for _, r := range marked {
			pairs = append(pairs, string(r), base)
		}
	}
	return strings.NewReplacer(pairs...)
}()
