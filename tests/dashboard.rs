//! The dashboard pages against hostile registry and page text: a capability
//! name, an evidence quote and a diff line holding `<script>…</script>"'&`
//! come out escaped on `/`, `/capabilities/{id}` and `/changes/{id}`, and
//! read back as the same text when the page is parsed.

mod common;
use capwatch::serve::{self, ServeState};
use common::*;
use std::sync::{Arc, RwLock};

const HOSTILE: &str = "<script>alert(1)</script>\"'&";
/// HOSTILE as maud escapes it (an apostrophe needs no escape in text or in a
/// double-quoted attribute).
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";
/// HOSTILE as page source: the page server serves HTML.
const HOSTILE_SRC: &str = "&lt;script&gt;alert(1)&lt;/script&gt;\"'&amp;";

fn texts(page: &str, css: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(page);
    let sel = scraper::Selector::parse(css).unwrap();
    doc.select(&sel).map(|e| e.text().collect()).collect()
}

/// No raw payload, the escaped form present, and no `<script>` element but
/// the JSON data island.
fn escaped(what: &str, page: &str, islands: usize) {
    assert!(
        !page.contains(HOSTILE),
        "{what} carries the raw string: {page}"
    );
    assert!(
        page.contains(ESCAPED),
        "{what} lacks the escaped string: {page}"
    );
    let scripts = texts(page, "script");
    assert_eq!(scripts.len(), islands, "{what}: {scripts:?}");
}

#[test]
fn hostile_name_quote_and_diff_line_are_escaped_on_the_dashboard() {
    let server = PageServer::start();
    let page = |extra: &str| {
        doc_page(
            "Widget",
            &format!("<p>Widget {HOSTILE_SRC} is in beta.</p>{extra}"),
            "",
        )
    };
    server.html("/w", &page(""));
    let name = HOSTILE.replace('"', "\\\"");
    let project = Project::new(&format!(
        "{}[[capability]]\nid = \"w\"\nguide = \"g\"\nname = \"{name}\"\naliases = [\"Widget\"]\n\
         claim = {{ stage = \"beta\" }}\n\n  [[capability.source]]\n  url = \"{}\"\n",
        registry_head("timeout = \"5s\""),
        server.url("/w"),
    ));
    project.capwatch(&["check"]).success();
    server.html("/w", &page(&format!("<p>Added {HOSTILE_SRC} here.</p>")));
    project.capwatch(&["check"]).success();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let reg = capwatch::config::load(&project.registry()).unwrap();
        let state = ServeState::new(Arc::new(RwLock::new(reg)), project.db(), None);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let b = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server_task = tokio::spawn(serve::serve(listener, state, async {
            let _ = stopped.await;
        }));
        let get = |path: &str| {
            let url = format!("{b}{path}");
            async move {
                let res = reqwest::get(&url).await.unwrap();
                assert_eq!(res.status().as_u16(), 200, "{url}");
                res.text().await.unwrap()
            }
        };

        let index = get("/").await;
        escaped("/", &index, 0);
        assert_eq!(texts(&index, "tr.cap td a")[0], HOSTILE, "the name");
        assert!(
            texts(&index, ".quote")[0].starts_with(&format!("“Widget {HOSTILE} is in beta.")),
            "{index}"
        );

        let cap = get("/capabilities/w").await;
        escaped("/capabilities/w", &cap, 1);
        assert_eq!(
            texts(&cap, "head > title"),
            [format!("{HOSTILE} — capwatch")]
        );
        assert_eq!(texts(&cap, "h1")[0], format!("{HOSTILE} (w)"));
        assert!(
            texts(&cap, "blockquote").contains(&format!("“Widget {HOSTILE} is in beta.”")),
            "{cap}"
        );

        let change = get("/changes/1").await;
        escaped("/changes/1", &change, 0);
        assert_eq!(texts(&change, "p a")[0], format!("← {HOSTILE}"));
        assert!(
            texts(&change, "tr.add td").contains(&format!("Added {HOSTILE} here.")),
            "{change}"
        );

        let _ = stop.send(());
        server_task.await.unwrap().unwrap();
    });
}
