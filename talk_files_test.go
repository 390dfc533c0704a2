package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// upload is one file of a multipart request.
type upload struct {
	name, contentType string
	data              []byte
}

// multipartDo sends an operation whose variable files is a list of
// uploads, in the stock shape of the graphql-multipart-request-spec (as
// Apollo and urql clients send it): operations, map, then the files.
func (c *client) multipartDo(query string, vars map[string]any, ups []upload) gqlResponse {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	nulls := make([]any, len(ups))
	vars["files"] = nulls
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	_ = mw.WriteField("operations", string(ops))
	m := map[string][]string{}
	for i := range ups {
		m[fmt.Sprint(i)] = []string{fmt.Sprintf("variables.files.%d", i)}
	}
	mb, _ := json.Marshal(m)
	_ = mw.WriteField("map", string(mb))
	for i, u := range ups {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%d"; filename="%s"`, i, u.name))
		h.Set("Content-Type", u.contentType)
		w, _ := mw.CreatePart(h)
		_, _ = w.Write(u.data)
	}
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.srv.URL+"/query", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("decode %q: %v", raw, err)
	}
	return out
}

// photoWithGPS is a small JPEG as a phone writes it: an EXIF block whose
// GPS directory holds the latitude where it was taken.
func photoWithGPS(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		img.Set(x, x, color.RGBA{200, 30, 30, 255})
	}
	var plain bytes.Buffer
	if err := jpeg.Encode(&plain, img, nil); err != nil {
		t.Fatal(err)
	}
	// TIFF, big-endian: IFD0 with one entry, GPSInfo (0x8825), pointing to
	// a GPS IFD with GPSLatitudeRef "N" and GPSLatitude 22/1 17/1 0/1.
	var tiff bytes.Buffer
	be := binary.BigEndian
	w := func(v any) { _ = binary.Write(&tiff, be, v) }
	tiff.WriteString("MM")
	w(uint16(42))
	w(uint32(8))
	w(uint16(1)) // IFD0: one entry
	w(uint16(0x8825))
	w(uint16(4))
	w(uint32(1))
	w(uint32(26)) // the GPS IFD's offset
	w(uint32(0))
	w(uint16(2)) // GPS IFD: two entries
	w(uint16(1)) // GPSLatitudeRef
	w(uint16(2))
	w(uint32(2))
	tiff.WriteString("N\x00\x00\x00")
	w(uint16(2)) // GPSLatitude, three rationals at offset 56
	w(uint16(5))
	w(uint32(3))
	w(uint32(56))
	w(uint32(0))
	for _, r := range [][2]uint32{{22, 1}, {17, 1}, {0, 1}} {
		w(r[0])
		w(r[1])
	}
	exif := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	be.PutUint16(seg[2:], uint16(len(exif)+2))
	p := plain.Bytes()
	out := append(append(append([]byte{}, p[:2]...), seg...), exif...)
	return append(out, p[2:]...)
}

// hasEXIF reports whether a JPEG still carries an APP1 (EXIF or XMP)
// segment, or the GPS directory's tag anywhere.
func hasEXIF(data []byte) bool {
	for i := 2; i+4 <= len(data) && data[i] == 0xFF; {
		m := data[i+1]
		if m == 0xDA || m == 0xD9 {
			break
		}
		if m == 0xE1 {
			return true
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:i+4]))
	}
	return bytes.Contains(data, []byte("Exif\x00\x00")) || bytes.Contains(data, []byte{0x88, 0x25, 0x00, 0x04})
}

const sendFiles = `mutation($id: ID!, $text: String, $vis: Visibility, $files: [Upload!]) {
	addRequestMessage(input: {requestId: $id, text: $text, visibility: $vis, files: $files}) {
		id text files { id name contentType size visibility url } } }`

type sentFile struct {
	ID, Name, ContentType, Visibility, URL string
	Size                                   int
}

// A resident photographs the leak: the photo goes up in the stock
// multipart shape, loses its GPS position, and is served through a signed
// link to the household, never to another household, and not once the
// link has expired. A renamed executable is refused.
func TestRequestPhotos(t *testing.T) {
	s := startServer(t, longTokens)
	e := newEstate(t, s, "PH", map[string]string{"agent": "AGENT", "tech": "TECHNICIAN"})
	resident := s.login(t, e.Resident)
	agent, tech := s.login(t, e.user("agent")), s.login(t, e.user("tech"))
	r := resident.submit(e.Plumbing, "Leak under the sink")

	photo := photoWithGPS(t)
	if !hasEXIF(photo) {
		t.Fatal("the test photo carries no EXIF")
	}
	res := resident.multipartDo(sendFiles, map[string]any{"id": r.ID, "text": "Here is the leak"},
		[]upload{{"leak.jpg", "image/jpeg", photo}})
	if len(res.Errors) > 0 {
		t.Fatalf("upload: %+v", res.Errors)
	}
	var sent struct {
		AddRequestMessage struct {
			ID    string
			Files []sentFile
		}
	}
	_ = json.Unmarshal(res.Data, &sent)
	if len(sent.AddRequestMessage.Files) != 1 {
		t.Fatalf("sent %s", res.Data)
	}
	f := sent.AddRequestMessage.Files[0]
	if f.ContentType != "image/jpeg" || f.Name != "leak.jpg" || f.Visibility != "PUBLIC" {
		t.Fatalf("file %+v", f)
	}

	// What was stored has no EXIF and no GPS, and is still the photo.
	rc, err := s.app.Storage.Open(context.Background(), f.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if hasEXIF(stored) {
		t.Fatal("the stored photo still carries its EXIF/GPS")
	}
	if _, err := jpeg.Decode(bytes.NewReader(stored)); err != nil {
		t.Fatalf("the stored photo is no longer a JPEG: %v", err)
	}

	fetch := func(link string) (int, []byte) {
		t.Helper()
		resp, err := http.Get(s.URL + link)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// The household fetches it through the link the request gives them.
	var mine struct {
		Request struct{ Files []sentFile }
	}
	resident.must(`query($id: ID!) { request(id: $id) { files { id url contentType } } }`, map[string]any{"id": r.ID}, &mine)
	if len(mine.Request.Files) != 1 || mine.Request.Files[0].ID != f.ID {
		t.Fatalf("the household's files %+v", mine)
	}
	code, got := fetch(mine.Request.Files[0].URL)
	if code != http.StatusOK || !bytes.Equal(got, stored) {
		t.Fatalf("household fetch: %d, %d bytes", code, len(got))
	}
	// Staff see it too.
	agent.must(`query($id: ID!) { request(id: $id) { files { id } } }`, map[string]any{"id": r.ID}, nil)

	// Another household gets no link (the request is not theirs), and a
	// link cannot be turned to another file or stretched in time.
	other := s.login(t, "resident.lee")
	other.fails("NOT_FOUND", `query($id: ID!) { request(id: $id) { files { url } } }`, map[string]any{"id": r.ID})
	link := mine.Request.Files[0].URL
	if code, _ := fetch(strings.Replace(link, f.ID, r.ID, 1)); code != http.StatusForbidden {
		t.Fatalf("a link turned to another id: %d", code)
	}
	if code, _ := fetch(link[:strings.Index(link, "exp=")] + "exp=9999999999&" + link[strings.Index(link, "sig="):]); code != http.StatusForbidden {
		t.Fatalf("a stretched link: %d", code)
	}
	s.clock.Advance(11 * time.Minute)
	if code, _ := fetch(link); code != http.StatusForbidden {
		t.Fatalf("an expired link: %d", code)
	}

	// A renamed executable is refused by its content, whatever its name
	// and claimed type; so are too many files at once.
	elf := append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0}, 200)...)
	res = resident.multipartDo(sendFiles, map[string]any{"id": r.ID}, []upload{{"leak.jpg", "image/jpeg", elf}})
	if res.code() != "INVALID_INPUT" || res.field() != "files.0" {
		t.Fatalf("a renamed executable: %+v", res.Errors)
	}
	six := make([]upload, 6)
	for i := range six {
		six[i] = upload{"p.jpg", "image/jpeg", photo}
	}
	if res := resident.multipartDo(sendFiles, map[string]any{"id": r.ID}, six); res.code() != "INVALID_INPUT" {
		t.Fatalf("six files: %+v", res.Errors)
	}

	// A technician's before/after photo on an internal note stays with
	// staff: the household lists one file still.
	agent.act(accept, map[string]any{"id": r.ID})
	agent.act(assign, map[string]any{"id": r.ID, "to": tech.id})
	var pngBuf bytes.Buffer
	_ = png.Encode(&pngBuf, image.NewGray(image.Rect(0, 0, 4, 4)))
	res = tech.multipartDo(sendFiles, map[string]any{"id": r.ID, "text": "before: pipe corroded", "vis": "INTERNAL"},
		[]upload{{"before.png", "image/png", pngBuf.Bytes()}})
	if len(res.Errors) > 0 {
		t.Fatalf("internal upload: %+v", res.Errors)
	}
	resident.must(`query($id: ID!) { request(id: $id) { files { id } } }`, map[string]any{"id": r.ID}, &mine)
	if len(mine.Request.Files) != 1 {
		t.Fatalf("the household lists %d files", len(mine.Request.Files))
	}
	var staff struct{ Request struct{ Files []sentFile } }
	agent.must(`query($id: ID!) { request(id: $id) { files { id visibility } } }`, map[string]any{"id": r.ID}, &staff)
	if len(staff.Request.Files) != 2 || staff.Request.Files[1].Visibility != "INTERNAL" {
		t.Fatalf("staff list %+v", staff)
	}
}
