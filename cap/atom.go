package cap

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"time"
)

// Atom feeds of CAP: the city publishes its alerts as one (each entry
// links to the CAP document and carries it inline), and reads others'
// (Atom or RSS, each entry's CAP inline or by link).

const atomNS = "http://www.w3.org/2005/Atom"

// FeedEntry is one alert of a feed.
type FeedEntry struct {
	ID, Title string
	Updated   time.Time
	// Link is the CAP document's URL.
	Link string
	// CAP is the document, written inline.
	CAP []byte
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  *atomAuthor `xml:"author,omitempty"`
	Link    []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomAuthor struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Content atomContent `xml:"content"`
}

type atomContent struct {
	Type  string `xml:"type,attr,omitempty"`
	Src   string `xml:"src,attr,omitempty"`
	Inner []byte `xml:",innerxml"`
}

// WriteFeed writes an Atom feed of CAP entries.
func WriteFeed(id, title, self, author string, updated time.Time, entries []FeedEntry) ([]byte, error) {
	f := atomFeed{ID: id, Title: title, Updated: updated.UTC().Format(time.RFC3339), Author: &atomAuthor{author},
		Link: []atomLink{{Rel: "self", Type: "application/atom+xml", Href: self}}}
	for _, e := range entries {
		body := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(e.CAP), []byte(xml.Header[:len(xml.Header)-1])))
		f.Entries = append(f.Entries, atomEntry{ID: e.ID, Title: e.Title, Updated: e.Updated.UTC().Format(time.RFC3339),
			Link:    []atomLink{{Rel: "alternate", Type: "application/cap+xml", Href: e.Link}},
			Content: atomContent{Type: "application/cap+xml", Inner: body}})
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", " ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("write CAP feed: %w", err)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// Item is one entry of a feed read: its CAP inline, or where to fetch it.
type Item struct {
	ID   string
	CAP  []byte
	Link string
}

type rssDoc struct {
	Items []struct {
		GUID string `xml:"guid"`
		Link string `xml:"link"`
	} `xml:"channel>item"`
}

// ReadFeed reads an Atom or RSS feed of CAP (bounded by MaxFeed, no DTD).
// A document that is itself a CAP alert is one item.
func ReadFeed(data []byte) ([]Item, error) {
	if len(data) > MaxFeed {
		return nil, errf("size", "nguồn tin %d byte, tối đa %d", "feed of %d bytes, at most %d", len(data), MaxFeed)
	}
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return nil, errf("xml", "có khai báo DTD/ENTITY: không nhận", "the feed has a DTD or entity declaration: refused")
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var root xml.StartElement
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, errf("xml", "nguồn tin không đọc được: %v", "the feed does not parse: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			root = se
			break
		}
	}
	switch {
	case root.Name.Space == Namespace && root.Name.Local == "alert":
		return []Item{{CAP: data}}, nil
	case root.Name.Local == "feed":
		var f atomFeed
		if err := xml.Unmarshal(data, &f); err != nil {
			return nil, errf("xml", "Atom không đọc được: %v", "the Atom feed does not parse: %v", err)
		}
		var items []Item
		for _, e := range f.Entries {
			it := Item{ID: e.ID}
			if bytes.Contains(e.Content.Inner, []byte(Namespace)) {
				it.CAP = append([]byte(nil), bytes.TrimSpace(e.Content.Inner)...)
			}
			for _, l := range e.Link {
				if it.Link == "" || l.Type == "application/cap+xml" {
					it.Link = l.Href
				}
			}
			if e.Content.Src != "" {
				it.Link = e.Content.Src
			}
			items = append(items, it)
		}
		return items, nil
	case root.Name.Local == "rss":
		var r rssDoc
		if err := xml.Unmarshal(data, &r); err != nil {
			return nil, errf("xml", "RSS không đọc được: %v", "the RSS feed does not parse: %v", err)
		}
		var items []Item
		for _, i := range r.Items {
			items = append(items, Item{ID: i.GUID, Link: i.Link})
		}
		return items, nil
	}
	return nil, errf("xml", "không phải Atom, RSS hay CAP: <%s>", "not Atom, RSS or CAP: <%s>", root.Name.Local)
}

// MaxFeed bounds a feed read.
const MaxFeed = 8 << 20
