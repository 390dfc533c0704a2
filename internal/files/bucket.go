package files

import (
	"context"
	"io"

	"gocloud.dev/blob"
)

// Bucket is a Storage on a gocloud.dev bucket; which one (local disk,
// S3-compatible, GCS) is chosen by its URL and the drivers the binary
// links in.
type Bucket struct{ b *blob.Bucket }

// OpenBucket opens the bucket a URL names, such as
// file:///var/lib/onestop/files?create_dir=1.
func OpenBucket(ctx context.Context, url string) (*Bucket, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, err
	}
	return &Bucket{b: b}, nil
}

// Put writes a file's contents.
func (s *Bucket) Put(ctx context.Context, key string, data []byte, contentType string) error {
	return s.b.WriteAll(ctx, key, data, &blob.WriterOptions{ContentType: contentType})
}

// Open reads a file's contents.
func (s *Bucket) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	return s.b.NewReader(ctx, key, nil)
}

// Delete removes a file's contents.
func (s *Bucket) Delete(ctx context.Context, key string) error { return s.b.Delete(ctx, key) }

// Close releases the bucket.
func (s *Bucket) Close() error { return s.b.Close() }
