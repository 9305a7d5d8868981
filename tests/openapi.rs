//! `openapi.yaml` cannot drift from the route table: every route of [`rsvp::routes::ROUTES`] is documented with its
//! method, path and operation name, nothing is documented that is not served, each operation's security and error
//! bodies follow its route's kind, and every path parameter is declared. The landing page routes (kind `Page`) are
//! documented too, as `text/html`. The local server serves the file at `GET /openapi.yaml`.
//!
//! What the file says about bodies is checked against the running server by the contract fuzz (`scripts/fuzz.sh`,
//! run by `scripts/test`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rsvp::app::{App, Config};
use rsvp::routes::{Kind, ROUTES, Route};
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey};
use yaml_rust2::{Yaml, YamlLoader};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options", "trace"];
/// API Gateway's OpenAPI extension for a route of every method (the route table's `ANY`).
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

/// The key an operation of `method` is documented under.
fn method_key(method: &str) -> String {
    if method == "ANY" { ANY_METHOD.to_owned() } else { method.to_ascii_lowercase() }
}

/// The routes whose every download is a file, not JSON.
const DOWNLOADS: &[&str] = &["invite_participant", "refresh_collaboration_invitation", "export_invitation_response"];

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../openapi.yaml")
}

fn spec_text() -> String {
    let path = spec_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec() -> Yaml {
    let mut docs = YamlLoader::load_from_str(&spec_text()).expect("openapi.yaml is valid YAML");
    assert_eq!(docs.len(), 1, "openapi.yaml holds one document");
    docs.remove(0)
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_owned())
}

/// The entries of a mapping (none for anything else).
fn entries(node: &Yaml) -> Vec<(&str, &Yaml)> {
    node.as_hash().map(|h| h.iter().filter_map(|(k, v)| k.as_str().map(|k| (k, v))).collect()).unwrap_or_default()
}

/// `node`, or what it refers to when it is a `{$ref: '#/...'}`.
fn resolve<'a>(doc: &'a Yaml, node: &'a Yaml) -> &'a Yaml {
    match node["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.strip_prefix("#/").unwrap_or_else(|| panic!("{reference} is not a local ref"));
            let target =
                pointer.split('/').fold(doc, |at, part| &at[part.replace("~1", "/").replace("~0", "~").as_str()]);
            assert!(!target.is_badvalue(), "{reference} resolves to nothing");
            resolve(doc, target)
        }
        None => node,
    }
}

/// Every documented operation: (METHOD, path) with its operation object.
fn operations(doc: &Yaml) -> BTreeMap<(String, String), &Yaml> {
    let mut out = BTreeMap::new();
    for (path, item) in entries(&doc["paths"]) {
        for (method, operation) in entries(item) {
            if METHODS.contains(&method) {
                out.insert((method.to_ascii_uppercase(), path.to_owned()), operation);
            } else if method == ANY_METHOD {
                out.insert(("ANY".to_owned(), path.to_owned()), operation);
            }
        }
    }
    out
}

fn documented<'a>(doc: &'a Yaml, route: &Route) -> &'a Yaml {
    let item = &doc["paths"][route.path];
    assert!(!item.is_badvalue(), "{route:?}: the path is not documented");
    let operation = &item[method_key(route.method).as_str()];
    assert!(!operation.is_badvalue(), "{route:?}: the method is not documented");
    operation
}

#[test]
fn every_route_is_documented_and_nothing_else_is() {
    let doc = spec();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let served: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned())).collect();
    let described: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
    let missing: Vec<_> = served.difference(&described).collect();
    let extra: Vec<_> = described.difference(&served).collect();
    assert!(missing.is_empty(), "routes not in openapi.yaml: {missing:?}");
    assert!(extra.is_empty(), "openapi.yaml documents what is not served: {extra:?}");
}

#[test]
fn operation_ids_are_the_operations_names() {
    let doc = spec();
    for route in ROUTES {
        assert_eq!(documented(&doc, route)["operationId"].as_str(), Some(route.operation), "{route:?}");
    }
}

#[test]
fn security_follows_the_kind_of_route() {
    let doc = spec();
    let global = &doc["security"];
    assert!(
        global.as_vec().is_some_and(|v| v.iter().any(|r| !r["bearerAuth"].is_badvalue())),
        "the default security is the bearer JWT"
    );
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str()), (Some("http"), Some("bearer")));
    for route in ROUTES {
        let operation = documented(&doc, route);
        let security = if operation["security"].is_badvalue() { global } else { &operation["security"] };
        let requirements = security.as_vec().unwrap_or_else(|| panic!("{route:?}: security is a list"));
        match route.kind {
            Kind::Public | Kind::PortalPublic | Kind::Page => {
                assert!(requirements.is_empty(), "{route:?} is public: its security must be []")
            }
            Kind::Api | Kind::Portal => assert!(
                !requirements.is_empty() && requirements.iter().all(|r| !r["bearerAuth"].is_badvalue()),
                "{route:?} needs the bearer JWT"
            ),
        }
    }
}

#[test]
fn path_parameters_are_declared_once_each_and_required() {
    let doc = spec();
    for route in ROUTES {
        let operation = documented(&doc, route);
        let in_path: BTreeSet<&str> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            // A greedy parameter (`{proxy+}`) is named without its `+`, as API Gateway passes it.
            .map(|name| name.trim_end_matches('+'))
            .collect();
        let mut declared = BTreeSet::new();
        let path_level = &doc["paths"][route.path]["parameters"];
        for parameter in operation["parameters"].as_vec().into_iter().chain(path_level.as_vec()).flatten() {
            let parameter = resolve(&doc, parameter);
            if parameter["in"].as_str() == Some("path") {
                let name = parameter["name"].as_str().expect("a parameter has a name");
                assert_eq!(parameter["required"].as_bool(), Some(true), "{route:?}: {name} must be required");
                assert!(declared.insert(name), "{route:?}: {name} is declared twice");
            }
        }
        assert_eq!(declared, in_path, "{route:?}: the path parameters declared");
    }
}

/// The schema of `content[media]`, resolved.
fn media_schema<'a>(doc: &'a Yaml, response: &'a Yaml, media: &str) -> Option<&'a Yaml> {
    let content = &response["content"][media];
    (!content.is_badvalue()).then(|| resolve(doc, &content["schema"]))
}

/// Whether `schema` is the component `name`, or a `oneOf` of which it is one.
fn is_or_includes(doc: &Yaml, schema: &Yaml, name: &str) -> bool {
    let wanted = resolve(doc, &doc["components"]["schemas"][name]);
    std::ptr::eq(schema, wanted)
        || schema["oneOf"].as_vec().is_some_and(|options| options.iter().any(|o| std::ptr::eq(resolve(doc, o), wanted)))
}

#[test]
fn answers_take_their_dialects_shape() {
    let doc = spec();
    for route in ROUTES {
        let operation = documented(&doc, route);
        let responses = entries(&operation["responses"]);
        assert!(responses.iter().any(|(status, _)| status.starts_with('2')), "{route:?}: no success documented");
        for (status, response) in responses {
            let response = resolve(&doc, response);
            assert!(response["description"].as_str().is_some(), "{route:?} {status}: a response needs a description");
            let media: Vec<&str> = entries(&response["content"]).into_iter().map(|(m, _)| m).collect();
            if status.starts_with('2') {
                if DOWNLOADS.contains(&route.operation) {
                    assert_eq!(media, ["application/octet-stream"], "{route:?}: a download is a file");
                } else if route.kind == Kind::Page {
                    assert_eq!(media, ["text/html"], "{route:?}: a page");
                } else if matches!(route.kind, Kind::Portal | Kind::PortalPublic) {
                    assert!(
                        media.is_empty() || media == ["application/json", "text/html"],
                        "{route:?} {status}: a portal answer is JSON, or with f=html a page: {media:?}"
                    );
                } else {
                    assert!(media.is_empty() || media == ["application/json"], "{route:?} {status}: {media:?}");
                }
                continue;
            }
            let expected = match route.kind {
                Kind::Page => {
                    assert_eq!(media, ["text/html"], "{route:?} {status}: a page's errors are pages");
                    continue;
                }
                Kind::Api | Kind::Public => "ErrorResponse",
                Kind::Portal | Kind::PortalPublic => "ArcgisError",
            };
            assert_eq!(media, ["application/json"], "{route:?} {status}");
            let schema = media_schema(&doc, response, "application/json").expect("a JSON error body");
            assert!(is_or_includes(&doc, schema, expected), "{route:?} {status}: the error body is {expected}");
            if matches!(route.kind, Kind::Public | Kind::PortalPublic) {
                assert!(!matches!(status, "401" | "403"), "{route:?} is public: it never answers {status}");
            }
            if matches!(status, "429" | "503") {
                let retry = resolve(&doc, &response["headers"]["Retry-After"]);
                assert_eq!(retry["required"].as_bool(), Some(true), "{route:?} {status} says when to retry");
            }
        }
    }
}

/// Every `$ref` in the file points at something.
#[test]
fn every_reference_resolves() {
    fn walk<'a>(doc: &'a Yaml, node: &'a Yaml, count: &mut usize) {
        match node {
            Yaml::Hash(hash) => {
                if hash.contains_key(&key("$ref")) {
                    resolve(doc, node);
                    *count += 1;
                }
                hash.values().for_each(|v| walk(doc, v, count));
            }
            Yaml::Array(items) => items.iter().for_each(|v| walk(doc, v, count)),
            _ => {}
        }
    }
    let doc = spec();
    let mut count = 0;
    walk(&doc, &doc, &mut count);
    assert!(count > 100, "only {count} references: is the file whole?");
}

/// Every link (which the fuzz's stateful phase follows) names an operation and parameters that operation has.
#[test]
fn links_lead_to_operations_and_their_parameters() {
    let doc = spec();
    let by_id: BTreeMap<&str, &Yaml> =
        operations(&doc).into_values().filter_map(|op| op["operationId"].as_str().map(|id| (id, op))).collect();
    let mut links = 0;
    for ((method, path), operation) in operations(&doc) {
        for (status, response) in entries(&operation["responses"]) {
            for (name, link) in entries(&resolve(&doc, response)["links"]) {
                links += 1;
                let target = link["operationId"].as_str().expect("a link names its operation by operationId");
                let target =
                    by_id.get(target).unwrap_or_else(|| panic!("{method} {path} {status} {name}: no {target}"));
                let parameters: BTreeSet<&str> = target["parameters"]
                    .as_vec()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| resolve(&doc, p)["name"].as_str())
                    .collect();
                for (parameter, _) in entries(&link["parameters"]) {
                    assert!(
                        parameters.contains(parameter),
                        "{method} {path} {status} {name}: no parameter {parameter}"
                    );
                }
            }
        }
    }
    assert!(links > 0, "the description has links for the stateful fuzz");
}

#[tokio::test]
async fn the_local_server_serves_the_description() {
    let app = Arc::new(App::new(Arc::new(MemoryStore::new()), Config::default()));
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("loopback address");
    let server = Server::bind(addr, app, SigningKey::generate()).await.expect("bind the local server");
    let url = format!("http://{}", server.local_addr());
    tokio::spawn(server.run());
    let http = reqwest::Client::new();

    let answer = http.get(format!("{url}/openapi.yaml")).send().await.expect("the local server answers");
    assert_eq!(answer.status(), reqwest::StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/yaml");
    let text = answer.text().await.expect("a text body");
    assert_eq!(text, spec_text(), "the server serves the file as it is");
    assert_eq!(text, rsvp_local::server::OPENAPI);
    assert!(YamlLoader::load_from_str(&text).is_ok());

    // Only GET, and only that path: anything else goes on to the route table as before.
    let post = http.post(format!("{url}/openapi.yaml")).send().await.expect("an answer");
    assert_eq!(post.status(), reqwest::StatusCode::NOT_FOUND);
    let json = http.get(format!("{url}/openapi.json")).send().await.expect("an answer");
    assert_eq!(json.status(), reqwest::StatusCode::NOT_FOUND);
}

/// The `Link` header a list sends matches the pattern the description declares for it, with the list's own filter
/// kept and a fuzzer's junk query parameters dropped (seen: schemathesis sent `State=Accepted` among unnamed and
/// control-character parameters, and the pattern then allowed nothing before `count`).
#[test]
fn the_next_link_matches_its_declared_pattern() {
    let doc = spec();
    let pattern = doc["components"]["headers"]["Link"]["schema"]["pattern"].as_str().expect("Link declares a pattern");
    let pattern = regex_lite::Regex::new(pattern).expect("the pattern is a regular expression");
    let next = rsvp::store::Cursor { sort: "000000000001#a".into() };
    let paging = rsvp::store::PageRequest { skip: 2, count: 1, after: None };
    for query in [
        "count=1",
        "State=Accepted&count=1",
        "VD%C2%96%C3%B10=%C2%B4&=%F2%9D%9E%AE&=&%00=y&State=Accepted&count=1&w%02=",
        "State=a%26b%3Cc%3E&skip=2&continuationToken=eyJ9",
    ] {
        let req: lambda_http::Request = lambda_http::http::Request::builder()
            .uri(format!("https://rsvp.example/api/users/invitations?{query}"))
            .body(lambda_http::Body::Empty)
            .expect("a request");
        let url = rsvp::http::request::next_page_url(&req, &paging, Some(&next), &["State"]).expect("a next page");
        let link = format!("<{url}>; rel=\"next\"");
        assert!(pattern.is_match(&link), "{query}: {link} does not match {pattern}");
        assert!(!link.contains("VD") && !link.contains("skip="), "{query}: only the list's filter is kept: {link}");
    }
    let unfiltered = "</api/users/invitations?count=1&continuationToken=eyJzIjoiMDAifQ>; rel=\"next\"";
    assert!(pattern.is_match(unfiltered));
    assert!(!pattern.is_match("</api/x?count=1>; rel=\"next\""), "a next link carries its cursor");
}
