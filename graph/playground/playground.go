// Package playground serves GraphiQL, the in-browser IDE that development
// servers show at /, entirely from the binary: it works on a laptop with no
// internet.
//
// The files under assets/ are the published npm packages graphiql 4.1.2
// (graphiql.min.js, graphiql.min.css), react 18.2.0 and react-dom 18.2.0
// (umd/*.production.min.js), unchanged, with their MIT licences. To update,
// `npm pack` the new versions and copy the same files over.
package playground

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

// AssetPrefix is the path the page loads its scripts and styles from.
const AssetPrefix = "/playground/"

// Assets serves the embedded scripts, styles and licences under AssetPrefix.
func Assets() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	files := http.StripPrefix(AssetPrefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files change only with the binary.
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// Handler serves the GraphiQL page for the endpoint (a path such as
// /query); subscriptions go over a websocket to the same path.
func Handler(title, endpoint string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err := page.Execute(w, struct {
			Title, Endpoint, Prefix, DefaultQuery string
		}{title, endpoint, AssetPrefix, defaultQuery})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

// defaultQuery is what a first visit shows: how to sign in and where the
// token goes, since every operation but login needs it.
const defaultQuery = `# Welcome to the OneStop API.
#
# 1. Sign in with a demo account (password
#    demo1234) and copy the accessToken:
mutation SignIn {
  login(username: "tenant.ko", password: "demo1234") {
    accessToken
  }
}
#
# 2. Under "Headers" below, put your token:
#    {"Authorization": "Bearer <accessToken>"}
#    It goes with every query, mutation and
#    subscription.
#
# 3. Then ask away:
query Me {
  me { name role properties { code name } }
}
`

var page = template.Must(template.New("graphiql").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{.Title}}</title>
  <style>
    body { margin: 0; }
    #graphiql { height: 100vh; }
    .loading { height: 100%; display: flex; align-items: center; justify-content: center; font: 1.5rem sans-serif; }
  </style>
  <link rel="stylesheet" href="{{.Prefix}}graphiql.min.css">
  <script src="{{.Prefix}}react.production.min.js"></script>
  <script src="{{.Prefix}}react-dom.production.min.js"></script>
</head>
<body>
  <div id="graphiql"><div class="loading">Loading GraphiQL… Sign in with the login mutation, then put {"Authorization": "Bearer &lt;accessToken&gt;"} under Headers.</div></div>
  <script src="{{.Prefix}}graphiql.min.js"></script>
  <script>
    const url = location.protocol + '//' + location.host + {{.Endpoint}};
    const subscriptionUrl = (location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + location.host + {{.Endpoint}};
    ReactDOM.render(
      React.createElement(GraphiQL, {
        fetcher: GraphiQL.createFetcher({ url, subscriptionUrl }),
        defaultQuery: {{.DefaultQuery}},
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: true,
        defaultEditorToolsVisibility: 'headers',
      }),
      document.getElementById('graphiql'),
    );
  </script>
</body>
</html>
`))
