package files

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/jpeg"
	"image/png"
	"net/http"
)

// The kinds of file a request accepts, told by their content, never by
// their name or the type the client claims.
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
	PDF  = "application/pdf"
)

// errNotAllowed is a file whose content is not one of the kinds above.
var errNotAllowed = errors.New("only JPEG or PNG photos and PDF documents are accepted")

// Clean checks a file's content and returns it ready to keep, with its
// kind: photos lose the metadata a phone writes into them (the EXIF block
// with the GPS position where it was taken, XMP, text chunks), everything
// else about the image is kept byte for byte.
func Clean(data []byte) ([]byte, string, error) {
	kind := http.DetectContentType(data)
	switch kind {
	case JPEG:
		if _, err := jpeg.DecodeConfig(bytes.NewReader(data)); err != nil {
			return nil, "", errNotAllowed
		}
		out, err := stripJPEG(data)
		if err != nil {
			return nil, "", errNotAllowed
		}
		return out, kind, nil
	case PNG:
		if _, err := png.DecodeConfig(bytes.NewReader(data)); err != nil {
			return nil, "", errNotAllowed
		}
		out, err := stripPNG(data)
		if err != nil {
			return nil, "", errNotAllowed
		}
		return out, kind, nil
	case PDF:
		return data, kind, nil
	}
	return nil, "", errNotAllowed
}

// stripJPEG drops the APP1 segments (EXIF, which holds the GPS position,
// and XMP) and APP13 (Photoshop/IPTC, which may hold a location) from a
// JPEG, keeping only the EXIF orientation (a phone's portrait photo is
// stored sideways with a tag saying so). The other segments, and the
// compressed image from the start of scan on, are copied unchanged, so
// nothing is re-encoded.
func stripJPEG(in []byte) ([]byte, error) {
	if len(in) < 4 || in[0] != 0xFF || in[1] != 0xD8 {
		return nil, errNotAllowed
	}
	out := make([]byte, 0, len(in))
	out = append(out, 0xFF, 0xD8)
	i := 2
	oriented := false
	for {
		if i+2 > len(in) || in[i] != 0xFF {
			return nil, errNotAllowed
		}
		marker := in[i+1]
		switch {
		case marker == 0xFF: // fill byte before a marker
			i++
			continue
		case marker == 0xD9 || marker == 0xDA:
			// End of image, or start of scan: the rest is image data.
			return append(out, in[i:]...), nil
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			out = append(out, in[i:i+2]...)
			i += 2
			continue
		}
		if i+4 > len(in) {
			return nil, errNotAllowed
		}
		n := int(binary.BigEndian.Uint16(in[i+2 : i+4]))
		if n < 2 || i+2+n > len(in) {
			return nil, errNotAllowed
		}
		switch {
		case marker == 0xE1:
			// The one EXIF field the picture needs to show upright is
			// kept, in an EXIF block of its own.
			if o := orientation(in[i+4 : i+2+n]); o > 1 && !oriented {
				out = append(out, orientationSegment(o)...)
				oriented = true
			}
		case marker != 0xED:
			out = append(out, in[i:i+2+n]...)
		}
		i += 2 + n
	}
}

// pngDropped are the PNG chunks that carry metadata rather than the
// image: EXIF (with any GPS position) and text, where XMP lives.
var pngDropped = map[string]bool{"eXIf": true, "tEXt": true, "iTXt": true, "zTXt": true}

// stripPNG drops the metadata chunks of a PNG, copying the rest.
func stripPNG(in []byte) ([]byte, error) {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(in) < len(sig) || string(in[:len(sig)]) != sig {
		return nil, errNotAllowed
	}
	out := append(make([]byte, 0, len(in)), in[:len(sig)]...)
	for i := len(sig); i < len(in); {
		if i+12 > len(in) {
			return nil, errNotAllowed
		}
		n := int(binary.BigEndian.Uint32(in[i : i+4]))
		end := i + 12 + n
		if n < 0 || end > len(in) || end < i {
			return nil, errNotAllowed
		}
		if !pngDropped[string(in[i+4:i+8])] {
			out = append(out, in[i:end]...)
		}
		i = end
	}
	return out, nil
}

// orientation reads the Orientation tag (0x0112) of an EXIF block's first
// directory; 0 when there is none or the block cannot be read.
func orientation(seg []byte) int {
	if len(seg) < 14 || string(seg[:6]) != "Exif\x00\x00" {
		return 0
	}
	tiff := seg[6:]
	var bo binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(tiff[4:8]))
	if off < 8 || off+2 > len(tiff) {
		return 0
	}
	n := int(bo.Uint16(tiff[off : off+2]))
	for k := range n {
		e := off + 2 + 12*k
		if e+12 > len(tiff) {
			return 0
		}
		if bo.Uint16(tiff[e:e+2]) == 0x0112 && bo.Uint16(tiff[e+2:e+4]) == 3 {
			if v := int(bo.Uint16(tiff[e+8 : e+10])); v >= 1 && v <= 8 {
				return v
			}
		}
	}
	return 0
}

// orientationSegment is an APP1 EXIF block holding the orientation alone.
func orientationSegment(o int) []byte {
	body := []byte("Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08" + // big-endian TIFF, first directory at 8
		"\x00\x01" + // one entry
		"\x01\x12\x00\x03\x00\x00\x00\x01") // Orientation, SHORT, one value
	body = append(body, 0, byte(o), 0, 0)
	body = append(body, 0, 0, 0, 0) // no next directory
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	return append(seg, body...)
}
