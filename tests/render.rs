//! `render = "browser"`: pages that JavaScript builds, loaded in real headless
//! Chromium by the real binary, against pages served on 127.0.0.1.
//! Needs Chromium (`apt-get install chromium`; CI installs it).

mod common;
use common::browser::chromium;
use common::*;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A shell page: an empty `<main>` that its script fills from `json`.
fn json_page(title: &str, json: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>{title}</title></head><body>
<nav>Docs home</nav><main id="content"></main>
<noscript>Turn JavaScript on to read this page.</noscript>
<script>
  fetch({json:?}).then(r => r.json()).then(d => {{
    const main = document.getElementById('content');
    main.innerHTML = '<h1>' + d.name + '</h1><p>' + d.name + ' ' + d.says + '</p><p>' + d.more + '</p>';
  }});
</script></body></html>"#
    )
}

fn facts(name: &str, says: &str, more: &str) -> String {
    serde_json::json!({"name": name, "says": says, "more": more}).to_string()
}

fn serve_json(server: &PageServer, path: &str, body: &str, behavior: Behavior) {
    server.set(path, body.as_bytes(), "application/json", behavior);
}

/// The registry settings every test here starts from.
fn settings(timeout: &str, extra: &str) -> String {
    format!(
        "timeout = \"{timeout}\"\nbrowser = \"{}\"\n{extra}",
        chromium().display()
    )
}

fn rendered(id: &str, name: &str, url: &str, extra: &str) -> String {
    capability(
        id,
        name,
        "{ stage = \"preview\" }",
        url,
        &format!("  select = \"main\"\n  render = \"browser\"\n{extra}"),
    )
}

fn last_outcome(p: &Project, source: &str) -> String {
    p.query_strings(&format!(
        "SELECT outcome || ':' || coalesce(detail, '') FROM \"check\" WHERE source_id = '{source}' ORDER BY id DESC LIMIT 1"
    ))
    .pop()
    .unwrap_or_default()
}

#[test]
fn a_page_built_from_json_is_read_and_a_new_json_is_a_change_with_a_diff() {
    let server = PageServer::start();
    server.html("/widget", &json_page("Widget Studio", "/widget.json"));
    serve_json(
        &server,
        "/widget.json",
        &facts(
            "Widget Studio",
            "is in public preview.",
            "Setup takes one step.",
        ),
        Behavior::Page,
    );
    let mut r = registry_head(&settings("10s", ""));
    r += &rendered("widget", "Widget Studio", &server.url("/widget"), "");
    let p = Project::new(&r);

    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("widget") && out.contains("baseline stored (snapshot 1); observed preview"),
        "{out}"
    );
    let status: Value = serde_json::from_str(&stdout(&p.capwatch(&["status", "--json"]))).unwrap();
    let observed = &status[0]["observed"];
    assert_eq!(observed["stage"], "preview", "{status}");
    let quote = observed["evidence"][0]["quote"]
        .as_str()
        .unwrap_or_default();
    assert!(
        quote.contains("Widget Studio is in public preview."),
        "{quote}"
    );

    // Unchanged: the content hash decides; nothing new is stored.
    server.clear_log();
    let a = p.capwatch(&["check"]).success();
    assert!(
        stdout(&a).contains("checked 1: 0 changed, 1 unchanged"),
        "{}",
        stdout(&a)
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 1);
    // A rendered page has no conditional GET: each check loads it afresh.
    let page_requests: Vec<_> = server
        .log()
        .into_iter()
        .filter(|l| l.path == "/widget")
        .collect();
    assert_eq!(page_requests.len(), 1, "{page_requests:?}");
    assert!(
        page_requests[0].if_none_match.is_none(),
        "{page_requests:?}"
    );

    // The JSON changes: the next check records a change with its diff.
    serve_json(
        &server,
        "/widget.json",
        &facts(
            "Widget Studio",
            "is generally available.",
            "Setup takes two steps.",
        ),
        Behavior::Page,
    );
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("changed → snapshot 2") && out.contains("observed ga"),
        "{out}"
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM change"), 1);
    let diff = stdout(&p.capwatch(&["diff", "widget"]).success());
    assert!(
        diff.contains("-Widget Studio is in public preview."),
        "{diff}"
    );
    assert!(
        diff.contains("+Widget Studio is generally available."),
        "{diff}"
    );
    assert!(diff.contains("+Setup takes two steps."), "{diff}");
    // Only the rendered `<main>` is read: not the navigation, not the noscript text.
    assert!(
        !diff.contains("Docs home") && !diff.contains("Turn JavaScript"),
        "{diff}"
    );
}

#[test]
fn infer_render_browser_reads_the_page_its_scripts_build() {
    let server = PageServer::start();
    server.html("/gadget", &json_page("Gadget Lab", "/gadget.json"));
    serve_json(
        &server,
        "/gadget.json",
        &facts("Gadget Lab", "is in beta.", "Ask your account team."),
        Behavior::Page,
    );
    let p = Project::new(&registry_head(&settings("10s", "")));
    let url = server.url("/gadget");

    // Plain HTTP reads an empty shell, and says what to do about it.
    let a = p
        .capwatch(&["infer", &url, "--name", "Gadget Lab", "--select", "main"])
        .failure();
    let err = stderr(&a);
    assert!(
        err.contains("this page is built by JavaScript; try --render browser"),
        "{err}"
    );

    let a = p
        .capwatch(&[
            "infer",
            &url,
            "--name",
            "Gadget Lab",
            "--render",
            "browser",
            "--json",
        ])
        .success();
    let v: Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["stage"], "beta", "{v}");
    assert!(
        v["evidence"][0]["quote"]
            .as_str()
            .unwrap()
            .contains("Gadget Lab is in beta."),
        "{v}"
    );
}

#[test]
fn a_page_that_never_settles_times_out_and_the_cycle_goes_on() {
    let server = PageServer::start();
    // Polls for ever and never writes its `<main>`: neither network idle
    // nor the selection with text ever comes.
    server.html(
        "/restless",
        r#"<!doctype html><html><body><main></main><script>
             setInterval(() => fetch('/tick?' + Date.now()), 100);
           </script></body></html>"#,
    );
    server.html("/tick", "{}");
    server.html("/steady", &json_page("Steady Feature", "/steady.json"));
    serve_json(
        &server,
        "/steady.json",
        &facts("Steady Feature", "is in public preview.", "Nothing else."),
        Behavior::Page,
    );
    server.html(
        "/plain",
        &doc_page("Plain Feature", "<p>Plain Feature is in preview.</p>", ""),
    );
    let mut r = registry_head(&settings("6s", ""));
    r += &rendered("restless", "Restless Feature", &server.url("/restless"), "");
    r += &rendered("steady", "Steady Feature", &server.url("/steady"), "");
    r += &capability(
        "plain",
        "Plain Feature",
        "{ stage = \"preview\" }",
        &server.url("/plain"),
        "",
    );
    let p = Project::new(&r);

    let started = Instant::now();
    let a = p.capwatch(&["check"]).success();
    let took = started.elapsed();
    let out = stdout(&a);
    assert!(
        out.contains("restless") && out.contains("failed: timed out"),
        "{out}"
    );
    assert!(
        out.contains("checked 3: 0 changed, 0 unchanged, 2 new baseline(s), 1 failed"),
        "{out}"
    );
    assert!(
        last_outcome(&p, "restless").starts_with("timeout"),
        "{}",
        last_outcome(&p, "restless")
    );
    assert_eq!(
        p.query_i64("SELECT count(*) FROM snapshot WHERE source_id = 'restless'"),
        0,
        "a page that never settled was stored"
    );
    // The 6 s timeout, a browser start and the other pages; far from a hang.
    assert!(took < Duration::from_secs(30), "the cycle took {took:?}");
}

#[test]
fn a_script_that_never_ends_is_cut_off_at_the_timeout() {
    let server = PageServer::start();
    server.html(
        "/spin",
        "<!doctype html><html><body><main></main><script>while (true) {}</script></body></html>",
    );
    server.html("/calm", &json_page("Calm Feature", "/calm.json"));
    serve_json(
        &server,
        "/calm.json",
        &facts("Calm Feature", "is in public preview.", "Nothing else."),
        Behavior::Page,
    );
    let mut r = registry_head(&settings("6s", "browser_tabs = 1"));
    r += &rendered("spin", "Spin Feature", &server.url("/spin"), "");
    r += &rendered("calm", "Calm Feature", &server.url("/calm"), "");
    let p = Project::new(&r);

    let started = Instant::now();
    let a = p.capwatch(&["check"]).success();
    let took = started.elapsed();
    let out = stdout(&a);
    assert!(
        out.contains("spin") && out.contains("failed: timed out"),
        "{out}"
    );
    assert!(
        out.contains("calm") && out.contains("baseline stored"),
        "{out}"
    );
    assert!(last_outcome(&p, "spin").starts_with("timeout"));
    // One tab: the calm page waited for the spinning one to be cut off.
    assert!(took < Duration::from_secs(30), "the cycle took {took:?}");
}

#[test]
fn browser_tabs_bounds_the_pages_loading_at_once() {
    let server = PageServer::start();
    let mut r = registry_head(&settings("10s", "per_host = 8\nbrowser_tabs = 2"));
    for i in 0..6 {
        let page = format!("/page{i}");
        let json = format!("/slow/{i}.json");
        server.html(&page, &json_page(&format!("Feature {i}"), &json));
        serve_json(
            &server,
            &json,
            &facts(&format!("Feature {i}"), "is in public preview.", "More."),
            Behavior::Slow(Duration::from_millis(1500)),
        );
        r += &rendered(
            &format!("f{i}"),
            &format!("Feature {i}"),
            &server.url(&page),
            "",
        );
    }
    let p = Project::new(&r);
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(
        out.contains("checked 6: 0 changed, 0 unchanged, 6 new baseline(s), 0 failed"),
        "{out}"
    );
    // Each page holds its tab while its data loads: two at a time, never three.
    assert_eq!(server.max_in_flight_under("slow"), 2);
}

// ---------------------------------------------------------------------------
// Processes

/// Every process below `root`: (pid, command line with spaces).
fn descendants(root: u32) -> Vec<(u32, String)> {
    let mut parent = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        if let Some(ppid) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u32>().ok())
        {
            parent.insert(pid, ppid);
        }
    }
    let mut out = Vec::new();
    for (&pid, _) in parent.iter() {
        let mut p = pid;
        let mut below = false;
        for _ in 0..64 {
            match parent.get(&p) {
                Some(&pp) if pp == root => {
                    below = true;
                    break;
                }
                Some(&pp) if pp > 1 => p = pp,
                _ => break,
            }
        }
        if below {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
                .unwrap_or_default();
            out.push((pid, cmd));
        }
    }
    out
}

/// The browser's own process under `root` (not a helper: no `--type=`).
fn browser_pid(root: u32) -> Option<u32> {
    descendants(root)
        .into_iter()
        .find(|(_, cmd)| cmd.contains("--user-data-dir=") && !cmd.contains("--type="))
        .map(|(pid, _)| pid)
}

fn profile_of(cmd: &str) -> Option<String> {
    cmd.split_whitespace()
        .find_map(|a| a.strip_prefix("--user-data-dir="))
        .map(String::from)
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Processes anywhere whose command line names `profile`.
fn using_profile(profile: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            String::from_utf8_lossy(&cmd)
                .contains(profile)
                .then_some(pid)
        })
        .collect()
}

fn kill(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A daemon that is stopped (SIGTERM, then SIGKILL) if the test ends
/// early, so a failing test leaves no daemon and no browser running.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            kill(self.0.id(), "-TERM");
            if !wait_until(Duration::from_secs(10), || {
                self.0.try_wait().ok().flatten().is_some()
            }) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }
}

fn spawn_daemon(p: &Project) -> Daemon {
    Daemon(spawn_child(p))
}

fn spawn_child(p: &Project) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env_remove("CAPWATCH_DB")
        .env("RUST_LOG", "capwatch=info")
        .arg("--config")
        .arg(p.registry())
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The outcomes of a source's checks, oldest first (none while the daemon
/// has not made its database yet).
fn outcomes(p: &Project, source: &str) -> Vec<String> {
    let sql = format!(
        "SELECT outcome || ':' || coalesce(detail, '') FROM \"check\" WHERE source_id = '{source}' ORDER BY id"
    );
    let read = || -> rusqlite::Result<Vec<String>> {
        let conn = rusqlite::Connection::open(p.db())?;
        let mut stmt = conn.prepare(&sql)?;
        stmt.query_map([], |r| r.get::<_, String>(0))?.collect()
    };
    read().unwrap_or_default()
}

/// Waits until the source's latest check is a new one with an outcome
/// starting with `kind`; returns its detail.
fn wait_for_outcome(p: &Project, source: &str, after: usize, kind: &str) -> String {
    let mut found = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        let all = outcomes(p, source);
        if let Some(o) = all.iter().skip(after).find(|o| o.starts_with(kind)) {
            found = o.clone();
            true
        } else {
            false
        }
    });
    assert!(
        ok,
        "no `{kind}` check of {source}: {:?}",
        outcomes(p, source)
    );
    found
}

#[test]
fn a_crash_is_a_failed_check_the_browser_comes_back_and_sigterm_leaves_no_chromium() {
    let server = PageServer::start();
    server.html("/victim", &json_page("Victim Feature", "/victim.json"));
    let body = facts("Victim Feature", "is in public preview.", "Nothing else.");
    serve_json(&server, "/victim.json", &body, Behavior::Page);
    let mut r = registry_head(&settings("10s", ""));
    r += &rendered(
        "victim",
        "Victim Feature",
        &server.url("/victim"),
        "  schedule = \"*/2 * * * * *\"\n",
    );
    let p = Project::new(&r);
    let mut d = spawn_daemon(&p);
    let daemon = d.0.id();

    // The page now takes its data from `path`, which answers slowly; returns
    // once a page waits for it (a check is under way right now).
    let hold = |path: &str| {
        serve_json(&server, path, &body, Behavior::Slow(Duration::from_secs(4)));
        server.html("/victim", &json_page("Victim Feature", path));
        assert!(
            wait_until(Duration::from_secs(10), || server.hits(path) > 0),
            "the page did not ask for {path}"
        );
    };
    let release = || server.html("/victim", &json_page("Victim Feature", "/victim.json"));

    // A first good check, then hold the page's data while the browser is killed.
    wait_for_outcome(&p, "victim", 0, "ok");
    hold("/held-1.json");
    let first = browser_pid(daemon).expect("a browser under the daemon");
    let profile = descendants(daemon)
        .iter()
        .find_map(|(_, cmd)| profile_of(cmd))
        .unwrap();
    let before = outcomes(&p, "victim").len();
    kill(first, "-KILL");
    let failed = wait_for_outcome(&p, "victim", before, "browser");
    assert!(
        failed.contains("the browser exited while rendering this page"),
        "{failed}"
    );

    // The browser is started again and the next check reads the page.
    release();
    let n = outcomes(&p, "victim").len();
    wait_for_outcome(&p, "victim", n, "ok");
    let second = browser_pid(daemon).expect("a new browser under the daemon");
    assert_ne!(first, second, "the browser was not started again");

    // Now the page's renderer crashes under it: that check fails, the browser stays.
    hold("/held-2.json");
    let before = outcomes(&p, "victim").len();
    for (pid, cmd) in descendants(daemon) {
        if cmd.contains("--type=renderer") {
            kill(pid, "-KILL");
        }
    }
    let crashed = wait_for_outcome(&p, "victim", before, "browser");
    assert!(
        crashed.contains("the page crashed the browser's renderer"),
        "{crashed}"
    );
    release();
    let n = outcomes(&p, "victim").len();
    wait_for_outcome(&p, "victim", n, "ok");
    // Broken reads were never stored: one version only.
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 1);

    // SIGTERM: the daemon ends its browser's whole process group before it exits.
    let chromium: Vec<u32> = descendants(daemon)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    assert!(!chromium.is_empty());
    let profile_now = descendants(daemon)
        .iter()
        .find_map(|(_, cmd)| profile_of(cmd))
        .unwrap();
    kill(daemon, "-TERM");
    let status = wait_until(Duration::from_secs(15), || {
        d.0.try_wait().unwrap().is_some()
    });
    assert!(status, "the daemon did not stop");
    assert!(d.0.wait().unwrap().success());
    assert!(
        wait_until(Duration::from_secs(3), || chromium
            .iter()
            .all(|p| !alive(*p))),
        "browser processes outlived the daemon: {:?}",
        chromium.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
    for prof in [&profile, &profile_now] {
        assert!(
            wait_until(Duration::from_secs(3), || using_profile(prof).is_empty()),
            "processes still use {prof}: {:?}",
            using_profile(prof)
        );
        assert!(
            !std::path::Path::new(prof).exists(),
            "the temporary profile {prof} was left behind"
        );
    }
}

#[test]
fn validate_names_a_missing_browser_and_a_plain_get_of_a_shell_says_to_render_it() {
    let server = PageServer::start();
    server.html("/shell", &json_page("Shell Feature", "/shell.json"));
    serve_json(
        &server,
        "/shell.json",
        &facts("Shell Feature", "is in beta.", "More."),
        Behavior::Page,
    );

    // settings.browser names a binary that is not there.
    let mut r = registry_head("browser = \"/opt/no-such-dir/chromium\"");
    r += &rendered("shell-r", "Shell Feature", &server.url("/shell"), "");
    let p = Project::new(&r);
    let a = p.capwatch(&["validate"]).code(3);
    let err = stderr(&a);
    assert!(
        err.contains("source \"shell-r\" has render = \"browser\" and needs a browser")
            && err.contains("settings.browser = \"/opt/no-such-dir/chromium\" does not exist")
            && err.contains("apt-get install chromium")
            && err.contains("set [settings] browser"),
        "{err}"
    );
    // `check` reads every other source and records this one as a failure.
    let a = p.capwatch(&["check"]).success();
    assert!(
        stdout(&a).contains("browser failure: settings.browser"),
        "{}",
        stdout(&a)
    );

    // The same page as a plain source: the hint says what to do.
    let mut r = registry_head("");
    r += &capability(
        "shell",
        "Shell Feature",
        "{ stage = \"beta\" }",
        &server.url("/shell"),
        "  select = \"main\"\n",
    );
    r += &capability(
        "shell-default",
        "Shell Feature",
        "{ stage = \"beta\" }",
        &server.url("/shell"),
        "",
    );
    let p = Project::new(&r);
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    let hint = "this page is built by JavaScript; try render = \"browser\"";
    // Both the select that matches nothing and the default that matches an
    // empty body say so, and neither stores the shell as content.
    assert!(
        out.contains(&format!("selector `main` matched nothing; {hint}")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "selector `main, article, body` matched nothing; {hint}"
        )),
        "{out}"
    );
    assert!(out.contains("unreadable") && out.contains(hint), "{out}");
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 0);
    let status: Value = serde_json::from_str(&stdout(&p.capwatch(&["status", "--json"]))).unwrap();
    assert!(status.to_string().contains("unreadable"), "{status}");
}

/// Runs `capwatch check` over two rendered pages, one tab, both slow to get
/// their data; when the first asks for it, `strike` is done to the
/// processes below `check`. Returns stdout and stderr.
fn check_with_a_strike(strike: fn(u32)) -> (String, String) {
    let server = PageServer::start();
    let mut r = registry_head(&settings("10s", "browser_tabs = 1"));
    for id in ["first", "second"] {
        let page = format!("/{id}");
        let json = format!("/{id}.json");
        let name = format!("Feature {id}");
        server.html(&page, &json_page(&name, &json));
        serve_json(
            &server,
            &json,
            &facts(&name, "is in public preview.", "More."),
            Behavior::Slow(Duration::from_millis(1500)),
        );
        r += &rendered(id, &name, &server.url(&page), "");
    }
    let p = Project::new(&r);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env_remove("CAPWATCH_DB")
        .env("RUST_LOG", "capwatch=info")
        .arg("--config")
        .arg(p.registry())
        .arg("check")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let asked = || server.hits("/first.json") + server.hits("/second.json") > 0;
    if !wait_until(Duration::from_secs(20), asked) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("no page asked for its data");
    }
    strike(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn within_one_cycle_a_crash_fails_that_page_only_and_the_next_page_is_read() {
    // The browser is killed under the first page: that page fails, the
    // browser is started again and the second page is read in it.
    let (out, err) = check_with_a_strike(|check| {
        kill(browser_pid(check).expect("a browser under check"), "-KILL")
    });
    assert!(
        out.contains("failed: browser failure: the browser exited while rendering this page"),
        "{out}"
    );
    assert!(
        out.contains("checked 2: 0 changed, 0 unchanged, 1 new baseline(s), 1 failed"),
        "{out}"
    );
    assert_eq!(err.matches("browser started").count(), 2, "{err}");

    // The first page's renderer crashes: that page fails, the same browser
    // reads the second.
    let (out, err) = check_with_a_strike(|check| {
        for (pid, cmd) in descendants(check) {
            if cmd.contains("--type=renderer") {
                kill(pid, "-KILL");
            }
        }
    });
    assert!(
        out.contains("failed: browser failure: the page crashed the browser's renderer"),
        "{out}"
    );
    assert!(
        out.contains("checked 2: 0 changed, 0 unchanged, 1 new baseline(s), 1 failed"),
        "{out}"
    );
    assert_eq!(err.matches("browser started").count(), 1, "{err}");
}

#[test]
fn a_rendered_page_with_nothing_to_read_is_unreadable_not_an_empty_version() {
    let server = PageServer::start();
    // Its script runs and writes nothing: the network goes idle, `<main>` stays empty.
    server.html(
        "/blank",
        "<!doctype html><html><body><main></main><script>console.log('ready');</script></body></html>",
    );
    let mut r = registry_head(&settings("10s", ""));
    r += &rendered("blank", "Blank Feature", &server.url("/blank"), "");
    let p = Project::new(&r);
    let a = p.capwatch(&["check"]).success();
    let out = stdout(&a);
    assert!(
        out.contains(
            "failed: unreadable page: the rendered page has no text in `main`; nothing was stored"
        ),
        "{out}"
    );
    assert_eq!(p.query_i64("SELECT count(*) FROM snapshot"), 0);
}

#[test]
fn a_capwatch_killed_outright_takes_its_browser_with_it() {
    let server = PageServer::start();
    server.html("/held", &json_page("Held Feature", "/held.json"));
    serve_json(
        &server,
        "/held.json",
        &facts("Held Feature", "is in beta.", "More."),
        Behavior::Slow(Duration::from_secs(5)),
    );
    let mut r = registry_head(&settings("10s", ""));
    r += &rendered("held", "Held Feature", &server.url("/held"), "");
    let p = Project::new(&r);
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("capwatch"))
        .current_dir(p.path())
        .env_remove("CAPWATCH_DB")
        .arg("--config")
        .arg(p.registry())
        .arg("check")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let asked = wait_until(Duration::from_secs(20), || server.hits("/held.json") > 0);
    let browser = browser_pid(child.id());
    let profile = descendants(child.id())
        .iter()
        .find_map(|(_, cmd)| profile_of(cmd));
    // kill -9: no cleanup of capwatch's own runs.
    let _ = child.kill();
    let _ = child.wait();
    assert!(asked, "the page did not ask for its data");
    let browser = browser.expect("a browser under check");
    assert!(
        wait_until(Duration::from_secs(5), || !alive(browser)),
        "the browser {browser} outlived capwatch"
    );
    // What a kill -9 leaves behind: the temporary profile (removed here).
    if let Some(profile) = profile {
        let _ = std::fs::remove_dir_all(profile);
    }
}
