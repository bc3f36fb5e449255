//! Content roots named in web server configuration: nginx `root`/`alias`, apache
//! `DocumentRoot`/`Alias`, caddy `root`, lighttpd `server.document-root`/`alias.url`, and
//! tomcat's `appBase`/`docBase`. Only absolute paths without variables count: a root that
//! depends on the request cannot be kept ahead of it.

use crate::resolve::walk::{join, parent};

/// Which server a configuration file belongs to, from its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    Nginx,
    Apache,
    Caddy,
    Lighttpd,
    Tomcat,
}

impl Server {
    pub fn of_config(path: &str) -> Option<Server> {
        let name = path.rsplit('/').next().unwrap_or_default();
        if name == "Caddyfile" || (path.contains("/caddy/") && name.ends_with(".caddyfile")) {
            return Some(Server::Caddy);
        }
        if name.ends_with(".xml") && (path.contains("/conf/") || path.contains("/tomcat")) {
            return Some(Server::Tomcat);
        }
        let config_like = name.ends_with(".conf") || path.contains("/sites-enabled/");
        if !config_like {
            return None;
        }
        if path.contains("/nginx/") {
            Some(Server::Nginx)
        } else if path.contains("/apache2/") || path.contains("/httpd/") {
            Some(Server::Apache)
        } else if path.contains("/lighttpd/") {
            Some(Server::Lighttpd)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Server::Nginx => "nginx",
            Server::Apache => "apache",
            Server::Caddy => "caddy",
            Server::Lighttpd => "lighttpd",
            Server::Tomcat => "tomcat",
        }
    }

    /// The content directories `text` (the file at `path`) names, with the directive.
    pub fn roots(self, path: &str, text: &str) -> Vec<(String, &'static str)> {
        let roots = match self {
            Server::Nginx => nginx_roots(text),
            Server::Apache => apache_roots(text),
            Server::Caddy => caddy_roots(text),
            Server::Lighttpd => lighttpd_roots(text),
            Server::Tomcat => tomcat_roots(path, text),
        };
        roots
            .into_iter()
            .filter(|(dir, _)| dir.starts_with('/') && !dir.contains('$'))
            .map(|(dir, directive)| (dir.trim_end_matches('/').to_string(), directive))
            .filter(|(dir, _)| !dir.is_empty())
            .collect()
    }
}

/// nginx: `root PATH;` and `alias PATH;`, in any block.
fn nginx_roots(text: &str) -> Vec<(String, &'static str)> {
    let words = nginx_words(text);
    let mut roots = Vec::new();
    for pair in words.windows(2) {
        let directive = match pair[0].as_str() {
            "root" => "root",
            "alias" => "alias",
            _ => continue,
        };
        roots.push((pair[1].clone(), directive));
    }
    roots
}

/// nginx's tokens: words and quoted strings, with comments dropped and `;{}` as their own
/// tokens (so `root` must start a directive to count).
fn nginx_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    let mut at_directive_start = true;
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
            }
            ';' | '{' | '}' => {
                words.push(c.to_string());
                at_directive_start = true;
            }
            c if c.is_whitespace() => {}
            '"' | '\'' => {
                let word: String = chars.by_ref().take_while(|&d| d != c).collect();
                words.push(word);
                at_directive_start = false;
            }
            _ => {
                let mut word = c.to_string();
                while let Some(&d) = chars.peek() {
                    if d.is_whitespace() || matches!(d, ';' | '{' | '}' | '#') {
                        break;
                    }
                    word.push(d);
                    chars.next();
                }
                // a directive name only counts at the start of a directive
                if !at_directive_start && matches!(word.as_str(), "root" | "alias") {
                    word.insert(0, '\\');
                }
                words.push(word);
                at_directive_start = false;
            }
        }
    }
    words
}

/// apache: `DocumentRoot DIR`, `Alias URL DIR`, `ScriptAlias URL DIR` (any case).
fn apache_roots(text: &str) -> Vec<(String, &'static str)> {
    let mut roots = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        let words = shell_words::split(line).unwrap_or_default();
        let Some(first) = words.first() else {
            continue;
        };
        match first.to_ascii_lowercase().as_str() {
            "documentroot" if words.len() >= 2 => roots.push((words[1].clone(), "DocumentRoot")),
            "alias" if words.len() >= 3 => roots.push((words[2].clone(), "Alias")),
            "scriptalias" if words.len() >= 3 => roots.push((words[2].clone(), "ScriptAlias")),
            _ => {}
        }
    }
    roots
}

/// caddy: `root [matcher] DIR` as a directive or inside `file_server`.
fn caddy_roots(text: &str) -> Vec<(String, &'static str)> {
    let mut roots = Vec::new();
    for line in text.lines().map(str::trim) {
        let mut words = line.split_whitespace();
        if words.next() != Some("root") {
            continue;
        }
        if let Some(dir) = words.find(|w| w.starts_with('/') && !w.ends_with('*')) {
            roots.push((dir.to_string(), "root"));
        }
    }
    roots
}

/// lighttpd: `server.document-root = "DIR"` and the targets of `alias.url`.
fn lighttpd_roots(text: &str) -> Vec<(String, &'static str)> {
    let first_quoted = |s: &str| s.split('"').nth(1).map(str::to_string);
    let mut roots = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("server.document-root") {
            roots.extend(first_quoted(line).map(|d| (d, "server.document-root")));
        } else if line.starts_with("alias.url") {
            // ( "URL" => "DIR", ... ): the values follow each "=>"
            for value in line.split("=>").skip(1) {
                roots.extend(first_quoted(value).map(|d| (d, "alias.url")));
            }
        }
    }
    roots
}

/// tomcat: `appBase` of each Host in `CATALINA_BASE/conf/server.xml` (relative to
/// CATALINA_BASE) and `docBase` of contexts.
fn tomcat_roots(path: &str, text: &str) -> Vec<(String, &'static str)> {
    let base = parent(path).and_then(|conf| parent(conf)).unwrap_or("/");
    let mut roots = Vec::new();
    for (attribute, directive) in [("appBase=", "appBase"), ("docBase=", "docBase")] {
        for piece in text.split(attribute).skip(1) {
            let Some(quote) = piece.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let value: String = piece[1..].chars().take_while(|&c| c != quote).collect();
            if value.is_empty() {
                continue;
            }
            let dir = if value.starts_with('/') {
                value
            } else {
                join(base, &value)
            };
            roots.push((dir, directive));
        }
    }
    roots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(server: Server, path: &str, text: &str) -> Vec<String> {
        server
            .roots(path, text)
            .into_iter()
            .map(|(d, _)| d)
            .collect()
    }

    #[test]
    fn servers_are_told_by_config_path() {
        assert_eq!(
            Server::of_config("/etc/nginx/nginx.conf"),
            Some(Server::Nginx)
        );
        assert_eq!(
            Server::of_config("/etc/nginx/sites-enabled/default"),
            Some(Server::Nginx)
        );
        assert_eq!(
            Server::of_config("/etc/apache2/sites-enabled/000-default.conf"),
            Some(Server::Apache)
        );
        assert_eq!(
            Server::of_config("/etc/caddy/Caddyfile"),
            Some(Server::Caddy)
        );
        assert_eq!(
            Server::of_config("/etc/lighttpd/lighttpd.conf"),
            Some(Server::Lighttpd)
        );
        assert_eq!(
            Server::of_config("/var/lib/tomcat10/conf/server.xml"),
            Some(Server::Tomcat)
        );
        assert_eq!(Server::of_config("/etc/ld.so.conf"), None);
    }

    #[test]
    fn nginx_roots_and_aliases_not_comments_or_variables() {
        let text = "http {\n  # root /commented;\n  server {\n    root /srv/site;\n    \
                    location /img/ { alias \"/data/images/\"; }\n    location /u { root $home; }\n    \
                    add_header X-root root;\n  }\n}\n";
        assert_eq!(
            dirs(Server::Nginx, "/etc/nginx/nginx.conf", text),
            ["/srv/site", "/data/images"]
        );
    }

    #[test]
    fn apache_document_roots_and_aliases() {
        let text = "<VirtualHost *:80>\n\tDocumentRoot /var/www/html\n\t#DocumentRoot /old\n\t\
                    Alias /static \"/opt/app/static\"\n\tScriptAlias /cgi-bin/ /usr/lib/cgi-bin/\n\t\
                    DocumentRoot ${APACHE_ROOT}\n</VirtualHost>\n";
        assert_eq!(
            dirs(
                Server::Apache,
                "/etc/apache2/sites-enabled/000-default.conf",
                text
            ),
            ["/var/www/html", "/opt/app/static", "/usr/lib/cgi-bin"]
        );
    }

    #[test]
    fn caddy_and_lighttpd_roots() {
        let caddy = ":80 {\n\troot * /srv/www\n\tfile_server\n}\n";
        assert_eq!(
            dirs(Server::Caddy, "/etc/caddy/Caddyfile", caddy),
            ["/srv/www"]
        );
        let lighttpd = "server.document-root = \"/var/www/html\"\n\
                        alias.url += ( \"/docs/\" => \"/usr/share/doc/app/\" )\n";
        assert_eq!(
            dirs(Server::Lighttpd, "/etc/lighttpd/lighttpd.conf", lighttpd),
            ["/var/www/html", "/usr/share/doc/app"]
        );
    }

    #[test]
    fn tomcat_app_base_is_relative_to_catalina_base() {
        let text = "<Server><Service><Engine><Host name=\"localhost\" appBase=\"webapps\" \
                    unpackWARs=\"true\"><Context path=\"/x\" docBase='/opt/x'/></Host></Engine></Service></Server>";
        assert_eq!(
            dirs(Server::Tomcat, "/var/lib/tomcat10/conf/server.xml", text),
            ["/var/lib/tomcat10/webapps", "/opt/x"]
        );
    }
}
