package cap

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Why github.com/russellhaering/goxmldsig (with github.com/beevik/etree):
// it is the maintained Go implementation of enveloped XML-DSig (the SAML
// libraries use it), it does exclusive canonicalisation and RSA-SHA256,
// which is exactly what IPAWS signs with, and it returns the element as
// signed, so loa reads only signed bytes (no signature wrapping). Writing
// canonical XML by hand is where signature checks go wrong.

// dsigNS is XML-DSig's namespace.
const dsigNS = "http://www.w3.org/2000/09/xmldsig#"

// Read checks data like Parse, and verifies an enveloped XML signature if
// the alert carries one: a signature that does not verify (tampered
// content, a certificate outside its validity at now) is an *Error. The
// alert returned is read from the signed element only. Whether the signer
// is trusted is Policy's question: Read reports who signed (Signer).
func Read(data []byte, now time.Time) (a *Alert, err error) {
	// A message comes from outside; the feed poller runs it outside any
	// HTTP handler's recovery: a panic in the XML or signature code is a
	// refusal, never the city's crash.
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, errf("xml", "bản tin không xử lý được: %v", "the message could not be processed: %v", r)
		}
	}()
	if err := screen(data); err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return nil, errf("xml", "XML không đọc được: %v", "XML does not parse: %v", err)
	}
	root := doc.Root()
	var sigs int
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == dsigNS {
			sigs++
		}
	}
	if sigs == 0 {
		return Parse(data)
	}
	if sigs > 1 {
		return nil, errf("signature", "có %d chữ ký, chỉ nhận một", "%d signatures: one at most", sigs)
	}
	cert, err := signatureCert(root)
	if err != nil {
		return nil, errf("signature", "chứng thư trong chữ ký không đọc được: %v", "the signature's certificate does not read: %v", err)
	}
	store := &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}}
	vc := dsig.NewDefaultValidationContext(store)
	vc.Clock = dsig.NewFakeClockAt(now)
	signed, err := vc.Validate(root)
	if err != nil {
		return nil, errf("signature", "chữ ký không hợp lệ (nội dung bị sửa hoặc chứng thư hết hạn): %v",
			"the signature does not verify (content altered or certificate not valid now): %v", err)
	}
	out := etree.NewDocument()
	out.SetRoot(signed)
	body, err := out.WriteToBytes()
	if err != nil {
		return nil, err
	}
	a, err = Parse(body)
	if err != nil {
		return nil, err
	}
	a.Signed = true
	a.Signer = Fingerprint(cert)
	a.SignerName = cert.Subject.String()
	return a, nil
}

var spaceRE = regexp.MustCompile(`\s+`)

// signatureCert is the first X509Certificate of the signature's KeyInfo.
func signatureCert(root *etree.Element) (*x509.Certificate, error) {
	for _, sig := range root.ChildElements() {
		if sig.Tag != "Signature" || sig.NamespaceURI() != dsigNS {
			continue
		}
		for _, ki := range sig.ChildElements() {
			if ki.Tag != "KeyInfo" {
				continue
			}
			for _, xd := range ki.ChildElements() {
				if xd.Tag != "X509Data" {
					continue
				}
				for _, c := range xd.ChildElements() {
					if c.Tag == "X509Certificate" {
						der, err := base64.StdEncoding.DecodeString(spaceRE.ReplaceAllString(c.Text(), ""))
						if err != nil {
							return nil, err
						}
						return x509.ParseCertificate(der)
					}
				}
			}
		}
	}
	return nil, errors.New("no X509Certificate in KeyInfo")
}

// Fingerprint is a certificate's SHA-256, hex: how the configuration names
// a trusted signing certificate.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// SignEnveloped signs a CAP document the way IPAWS does: an enveloped
// XML-DSig signature (exclusive canonicalisation, RSA-SHA256) with the
// certificate in KeyInfo. loa's tests sign with it; a city could sign its
// own feed with it.
func SignEnveloped(doc []byte, key *rsa.PrivateKey, certDER []byte) ([]byte, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	ctx := dsig.NewDefaultSigningContext(keyPair{key, certDER})
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		return nil, fmt.Errorf("sign CAP: %w", err)
	}
	out := etree.NewDocument()
	out.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	out.SetRoot(signed)
	return out.WriteToBytes()
}

type keyPair struct {
	key  *rsa.PrivateKey
	cert []byte
}

func (k keyPair) GetKeyPair() (*rsa.PrivateKey, []byte, error) { return k.key, k.cert, nil }
