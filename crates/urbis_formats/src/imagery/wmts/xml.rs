//! A small element tree over `quick-xml` for the capabilities reader.
//!
//! ```text
//! bytes ─► quick_xml::Reader events ─► Tree { elements, flat, parent → children }
//!   names: local part only (`ows:Identifier` ─► `Identifier`), xmlns dropped
//!   text: Text + CDATA + entity and character references, joined per element
//! ```
//!
//! Bounded: at most [`MAX_ELEMENTS`] elements nested at most [`MAX_DEPTH`]
//! deep; DTD entities are never expanded (an unknown `&name;` stays as it is).

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

/// The most elements a document may have.
pub(super) const MAX_ELEMENTS: usize = 250_000;
/// The deepest nesting accepted.
pub(super) const MAX_DEPTH: usize = 64;

/// One element: local name, attributes (local names), its own text.
#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<usize>,
}

/// A parsed document; element 0 is the root.
#[derive(Debug)]
pub(super) struct Tree {
    elements: Vec<Element>,
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    std::str::from_utf8(bytes).map(str::to_string).map_err(|e| format!("name is not UTF-8: {e}"))
}

impl Tree {
    /// Parses a whole document.
    pub(super) fn parse(bytes: &[u8]) -> Result<Tree, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = Reader::from_reader(bytes);
        let mut elements: Vec<Element> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        loop {
            let at = |r: &Reader<&[u8]>| r.error_position();
            let event = reader.read_event().map_err(|e| format!("XML error at byte {}: {e}", at(&reader)))?;
            let bad =
                |what: &str, e: &dyn std::fmt::Display| format!("XML error near byte {}: {what}: {e}", at(&reader));
            match event {
                Event::Start(e) => {
                    let id = Self::open(&mut elements, &stack, &e, &reader).map_err(|m| bad("element", &m))?;
                    stack.push(id);
                    if stack.len() > MAX_DEPTH {
                        return Err(format!("elements nested deeper than {MAX_DEPTH}"));
                    }
                }
                Event::Empty(e) => {
                    Self::open(&mut elements, &stack, &e, &reader).map_err(|m| bad("element", &m))?;
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    if let Some(&top) = stack.last() {
                        elements[top].text.push_str(&t.xml10_content().map_err(|e| bad("text", &e))?);
                    }
                }
                Event::CData(c) => {
                    if let Some(&top) = stack.last() {
                        elements[top].text.push_str(&c.decode().map_err(|e| bad("CDATA", &e))?);
                    }
                }
                Event::GeneralRef(r) => {
                    let Some(&top) = stack.last() else { continue };
                    let name = r.decode().map_err(|e| bad("reference", &e))?;
                    let text = &mut elements[top].text;
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        Ok(None) => match resolve_predefined_entity(&name) {
                            Some(s) => text.push_str(s),
                            None => {
                                text.push('&');
                                text.push_str(&name);
                                text.push(';');
                            }
                        },
                        Err(e) => return Err(bad("character reference", &e)),
                    }
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if let Some(&open) = stack.last() {
            return Err(format!("document ends inside <{}>", elements[open].name));
        }
        if elements.is_empty() {
            return Err("no root element".into());
        }
        Ok(Tree { elements })
    }

    /// Adds an element under the top of `stack`; its index.
    fn open(elements: &mut Vec<Element>, stack: &[usize], e: &BytesStart, r: &Reader<&[u8]>) -> Result<usize, String> {
        if elements.len() >= MAX_ELEMENTS {
            return Err(format!("more than {MAX_ELEMENTS} elements"));
        }
        if stack.is_empty() && !elements.is_empty() {
            return Err("a second root element".into());
        }
        let name = utf8(e.local_name().as_ref())?;
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let key = a.key;
            if key.as_ref().starts_with(b"xmlns") {
                continue;
            }
            let value =
                a.decoded_and_normalized_value(XmlVersion::Implicit1_0, r.decoder()).map_err(|e| e.to_string())?;
            attrs.push((utf8(key.local_name().as_ref())?, value.into_owned()));
        }
        let id = elements.len();
        elements.push(Element { name, attrs, ..Default::default() });
        if let Some(&parent) = stack.last() {
            elements[parent].children.push(id);
        }
        Ok(id)
    }

    pub(super) const ROOT: usize = 0;

    /// The local name of element `n`.
    pub(super) fn name(&self, n: usize) -> &str {
        &self.elements[n].name
    }

    /// The children of `n` named `name`, in document order.
    pub(super) fn children<'a>(&'a self, n: usize, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.elements[n].children.iter().copied().filter(move |&c| self.elements[c].name == name)
    }

    /// The first child of `n` named `name`.
    pub(super) fn child(&self, n: usize, name: &str) -> Option<usize> {
        self.children(n, name).next()
    }

    /// The text of `n`, trimmed.
    pub(super) fn text(&self, n: usize) -> &str {
        self.elements[n].text.trim()
    }

    /// The trimmed text of the first child named `name`, unless empty.
    pub(super) fn child_text(&self, n: usize, name: &str) -> Option<&str> {
        self.child(n, name).map(|c| self.text(c)).filter(|t| !t.is_empty())
    }

    /// Attribute `name` (local name) of `n`.
    pub(super) fn attr(&self, n: usize, name: &str) -> Option<&str> {
        self.elements[n].attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_text_entities_and_limits() {
        let doc = br#"<?xml version="1.0"?><a:Root xmlns:a="urn:x" b:k="v &amp; w" xmlns:b="urn:y">
            <a:Item>one &lt;1&gt; &#x41;<![CDATA[<raw>]]></a:Item><Item/><Other>&nbsp;</Other></a:Root>"#;
        let t = Tree::parse(doc).expect("parses");
        assert_eq!(t.name(Tree::ROOT), "Root");
        assert_eq!(t.attr(Tree::ROOT, "k"), Some("v & w"));
        let items: Vec<usize> = t.children(Tree::ROOT, "Item").collect();
        assert_eq!(items.len(), 2);
        assert_eq!(t.text(items[0]), "one <1> A<raw>");
        assert_eq!(t.child_text(Tree::ROOT, "Other"), Some("&nbsp;"), "unknown entities stay");
        assert!(Tree::parse(b"<a><b></a>").is_err(), "mismatched end");
        assert!(Tree::parse(b"<a><b>").expect_err("open").contains("ends inside <b>"));
        assert!(Tree::parse(b"<a/><b/>").expect_err("two roots").contains("second root"));
        assert!(Tree::parse(b"").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(Tree::parse(deep.as_bytes()).expect_err("deep").contains("deeper"));
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert!(Tree::parse(wide.as_bytes()).expect_err("wide").contains("elements"));
    }
}
