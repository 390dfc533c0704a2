package files

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"testing"
)

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// Photos lose their metadata and stay images; anything that is not a
// photo or a PDF by content is refused, whatever it is called.
func TestClean(t *testing.T) {
	var p bytes.Buffer
	_ = png.Encode(&p, image.NewGray(image.Rect(0, 0, 3, 3)))
	raw := p.Bytes()
	// An eXIf chunk with a GPS tag, and an XMP text chunk, after IHDR.
	ihdrEnd := 8 + 12 + 13
	tagged := append(append([]byte{}, raw[:ihdrEnd]...), pngChunk("eXIf", []byte("MM\x00\x2a\x00\x00\x00\x08\x88\x25"))...)
	tagged = append(tagged, pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<exif:GPSLatitude>22</exif:GPSLatitude>"))...)
	tagged = append(tagged, raw[ihdrEnd:]...)
	out, kind, err := Clean(tagged)
	if err != nil || kind != PNG {
		t.Fatalf("png: %v %s", err, kind)
	}
	if bytes.Contains(out, []byte("eXIf")) || bytes.Contains(out, []byte("GPS")) {
		t.Fatal("the PNG kept its metadata")
	}
	if _, err := png.Decode(bytes.NewReader(out)); err != nil {
		t.Fatalf("the PNG no longer decodes: %v", err)
	}

	var j bytes.Buffer
	_ = jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 3, 3)), nil)
	app1 := append([]byte{0xFF, 0xE1, 0x00, 0x0E}, []byte("Exif\x00\x00MM\x00\x2a\x88\x25")...)
	withExif := append(append(append([]byte{}, j.Bytes()[:2]...), app1...), j.Bytes()[2:]...)
	out, kind, err = Clean(withExif)
	if err != nil || kind != JPEG || bytes.Contains(out, []byte("Exif")) || !bytes.Equal(out, j.Bytes()) {
		t.Fatalf("jpeg: %v %s, kept EXIF %v", err, kind, bytes.Contains(out, []byte("Exif")))
	}

	for name, data := range map[string][]byte{
		"an executable":     []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"a script":          []byte("#!/bin/sh\nrm -rf /\n"),
		"HTML":              []byte("<html><script>alert(1)</script></html>"),
		"a truncated JPEG":  j.Bytes()[:20],
		"a PNG header only": raw[:8],
	} {
		if _, _, err := Clean(data); err == nil {
			t.Errorf("%s was accepted", name)
		}
	}
	if _, kind, err := Clean([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")); err != nil || kind != PDF {
		t.Errorf("pdf: %v %s", err, kind)
	}
}

// A phone's portrait photo keeps its orientation, and nothing else of its
// EXIF.
func TestCleanKeepsOrientation(t *testing.T) {
	var j bytes.Buffer
	_ = jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 3, 3)), nil)
	// Little-endian TIFF: Orientation 6 and a GPSInfo pointer in IFD0.
	tiff := []byte("II\x2a\x00\x08\x00\x00\x00\x02\x00" +
		"\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00" +
		"\x25\x88\x04\x00\x01\x00\x00\x00\x26\x00\x00\x00" +
		"\x00\x00\x00\x00")
	exif := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(exif)+2))
	in := append(append(append(append([]byte{}, j.Bytes()[:2]...), seg...), exif...), j.Bytes()[2:]...)
	out, _, err := Clean(in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte{0x25, 0x88}) || bytes.Contains(out, []byte{0x88, 0x25}) {
		t.Fatal("the GPS pointer survived")
	}
	if o := orientation(out[6:]); o != 6 {
		t.Fatalf("orientation %d, want 6", o)
	}
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		t.Fatal(err)
	}
}
