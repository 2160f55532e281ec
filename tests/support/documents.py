"""Small real files of the formats Tika parses, built in code (no binary fixtures).

PDFs come from reportlab; DOCX, XLSX, PPTX, ODT and EPUB are the minimal zip packages
their specifications require; RTF, HTML and e-mail are text; PNG is written
with zlib; the scanned images and image-only PDFs of the OCR tests are drawn with
Pillow. Each carries the word it is searched for, so tests can assert that the
text came through.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def pdf(text: str = "Hello zebra world", *, title: str = "Quarterly report",
        author: str = "Ann Author", pages: int = 1, password: str | None = None,
        lines_per_page: int = 1) -> bytes:
    """A PDF with ``text`` on each of ``pages`` pages (encrypted when ``password``)."""
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    encrypt = pdfencrypt.StandardEncryption(password, ownerPassword=password + "-owner",
                                            canPrint=0) if password else None
    c = canvas.Canvas(buf, encrypt=encrypt)
    c.setTitle(title)
    c.setAuthor(author)
    for page in range(pages):
        for line in range(lines_per_page):
            c.drawString(40, 800 - 12 * line, f"{text} page {page + 1} line {line + 1}")
        c.showPage()
    c.save()
    return buf.getvalue()


def _zip(members: list[tuple[str, str]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, (name, content) in enumerate(members):
            kind = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            zf.writestr(name, content, compress_type=kind)
    return buf.getvalue()


_CORE_NS = ('xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/'
            'terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"')
_CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
_APP_REL = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
            "extended-properties")
_THUMB_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/thumbnail"
_CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
_APP_TYPE = "application/vnd.openxmlformats-officedocument.extended-properties+xml"
# the smallest JPEG header Tika recognises: SOI, APP0 (JFIF), EOI
_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def _core(title: str, creator: str, created: str = "2024-03-05T10:00:00Z") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties {_CORE_NS}>'
            f'<dc:title>{title}</dc:title><dc:creator>{creator}</dc:creator>'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            '</cp:coreProperties>')


def _app(**counts: int) -> str:
    rows = "".join(f"<{name}>{value}</{name}>" for name, value in counts.items())
    return ('<?xml version="1.0" encoding="UTF-8"?><Properties xmlns="http://schemas.'
            'openxmlformats.org/officeDocument/2006/extended-properties">'
            f'<Application>t4 tests</Application>{rows}</Properties>')


def docx(text: str = "Hello zebra in Word", title: str = "Word title") -> bytes:
    """A minimal Office Open XML word-processing document with core and application
    properties (author, created, 3 pages) and a thumbnail, as Word writes them."""
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return _zip([
        ("[Content_Types].xml",
         '<?xml version="1.0" encoding="UTF-8"?>'
         '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
         '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
         'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
         '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
         'officedocument.wordprocessingml.document.main+xml"/>'
         '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-'
         'package.core-properties+xml"/><Default Extension="jpeg" ContentType="image/jpeg"/>'
         f'<Override PartName="/docProps/app.xml" ContentType="{_APP_TYPE}"/></Types>'),
        ("_rels/.rels",
         '<?xml version="1.0" encoding="UTF-8"?>'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="word/document.xml"/>'
         '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
         'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
         f'<Relationship Id="rId3" Type="{_APP_REL}" Target="docProps/app.xml"/>'
         f'<Relationship Id="rId4" Type="{_THUMB_REL}" Target="docProps/thumbnail.jpeg"/>'
         '</Relationships>'),
        ("docProps/core.xml", _core(title, "Wendy Writer")),
        ("docProps/app.xml", _app(Pages=3)),
        ("docProps/thumbnail.jpeg", _JPEG),
        ("word/document.xml",
         f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body>'
         f'<w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'),
    ])


def _ooxml_types(overrides: dict[str, str]) -> str:
    parts = "".join(f'<Override PartName="{name}" ContentType="{kind}"/>'
                    for name, kind in overrides.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'{parts}</Types>')


def _rels(targets: list[tuple[str, str]]) -> str:
    rows = "".join(f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
                   for i, (kind, target) in enumerate(targets, 1))
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
            f'openxmlformats.org/package/2006/relationships">{rows}</Relationships>')


def xlsx(text: str = "Hello zebra in Excel", sheet: str = "Budget") -> bytes:
    """A minimal Office Open XML workbook: one sheet, an inline string and a number."""
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    ml = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return _zip([
        ("[Content_Types].xml", _ooxml_types({
            "/xl/workbook.xml": f"{ml}.sheet.main+xml",
            "/xl/worksheets/sheet1.xml": f"{ml}.worksheet+xml",
            "/docProps/core.xml": _CORE_TYPE})),
        ("_rels/.rels", _rels([(f"{doc}/officeDocument", "xl/workbook.xml"),
                               (_CORE_REL, "docProps/core.xml")])),
        ("docProps/core.xml", _core("Budget book", "Xavier Counter")),
        ("xl/workbook.xml",
         f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{doc}">'
         f'<sheets><sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'),
        ("xl/_rels/workbook.xml.rels", _rels([(f"{doc}/worksheet", "worksheets/sheet1.xml")])),
        ("xl/worksheets/sheet1.xml",
         f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}"><sheetData>'
         f'<row r="1"><c r="A1" t="inlineStr"><is><t>{text}</t></is></c>'
         '<c r="B1"><v>4217</v></c></row></sheetData></worksheet>'),
    ])


def xls(text: str = "Hello zebra in old Excel", sheet: str = "Budget") -> bytes:
    """A legacy Excel 97-2003 workbook (BIFF8 in an OLE2 compound file), written by xlwt:
    one sheet, a string and a number."""
    import xlwt

    book = xlwt.Workbook()
    cells = book.add_sheet(sheet)
    cells.write(0, 0, text)
    cells.write(0, 1, 4217)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pptx(text: str = "Hello zebra in PowerPoint") -> bytes:
    """A minimal Office Open XML presentation: one slide with one text box (plus the
    master and layout every slide hangs from), core and application properties and a
    thumbnail."""
    doc = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    ml = "application/vnd.openxmlformats-officedocument.presentationml"
    ns = ('xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" '
          'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
          f'xmlns:r="{doc}"')
    head = '<?xml version="1.0" encoding="UTF-8"?>'

    def tree(shape: str = "") -> str:
        return ('<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/>'
                f'<p:nvPr/></p:nvGrpSpPr><p:grpSpPr/>{shape}</p:spTree></p:cSld>')

    box = ('<p:sp><p:nvSpPr><p:cNvPr id="2" name="Title"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
           f'<p:spPr/><p:txBody><a:bodyPr/><a:p><a:r><a:t>{text}</a:t></a:r></a:p>'
           '</p:txBody></p:sp>')
    layout = (f"{doc}/slideLayout", "../slideLayouts/slideLayout1.xml")
    return _zip([
        ("[Content_Types].xml", _ooxml_types({
            "/ppt/presentation.xml": f"{ml}.presentation.main+xml",
            "/ppt/slides/slide1.xml": f"{ml}.slide+xml",
            "/ppt/slideMasters/slideMaster1.xml": f"{ml}.slideMaster+xml",
            "/ppt/slideLayouts/slideLayout1.xml": f"{ml}.slideLayout+xml",
            "/docProps/core.xml": _CORE_TYPE, "/docProps/app.xml": _APP_TYPE,
            "/docProps/thumbnail.jpeg": "image/jpeg"})),
        ("_rels/.rels", _rels([(f"{doc}/officeDocument", "ppt/presentation.xml"),
                               (_CORE_REL, "docProps/core.xml"), (_APP_REL, "docProps/app.xml"),
                               (_THUMB_REL, "docProps/thumbnail.jpeg")])),
        ("docProps/core.xml", _core("Deck title", "Paula Presenter")),
        ("docProps/app.xml", _app(Slides=1)),
        ("docProps/thumbnail.jpeg", _JPEG),
        ("ppt/presentation.xml",
         f'{head}<p:presentation {ns}><p:sldMasterIdLst><p:sldMasterId id="2147483648" '
         'r:id="rId1"/></p:sldMasterIdLst><p:sldIdLst><p:sldId id="256" r:id="rId2"/>'
         '</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" '
         'cy="9144000"/></p:presentation>'),
        ("ppt/_rels/presentation.xml.rels", _rels([
            (f"{doc}/slideMaster", "slideMasters/slideMaster1.xml"),
            (f"{doc}/slide", "slides/slide1.xml")])),
        ("ppt/slideMasters/slideMaster1.xml",
         f'{head}<p:sldMaster {ns}>{tree()}<p:sldLayoutIdLst><p:sldLayoutId '
         'id="2147483649" r:id="rId1"/></p:sldLayoutIdLst></p:sldMaster>'),
        ("ppt/slideMasters/_rels/slideMaster1.xml.rels", _rels([layout])),
        ("ppt/slideLayouts/slideLayout1.xml", f"{head}<p:sldLayout {ns}>{tree()}</p:sldLayout>"),
        ("ppt/slideLayouts/_rels/slideLayout1.xml.rels", _rels([
            (f"{doc}/slideMaster", "../slideMasters/slideMaster1.xml")])),
        ("ppt/slides/slide1.xml", f"{head}<p:sld {ns}>{tree(box)}</p:sld>"),
        ("ppt/slides/_rels/slide1.xml.rels", _rels([layout])),
    ])


def odt(text: str = "Hello zebra in OpenDocument") -> bytes:
    """A minimal OpenDocument text file (``mimetype`` first and stored, as ODF requires)
    with its metadata (title, creator, language, created, 2 pages)."""
    office = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
    textns = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
    return _zip([
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        ("META-INF/manifest.xml",
         '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
         '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
         '<manifest:file-entry manifest:full-path="/" manifest:media-type='
         '"application/vnd.oasis.opendocument.text"/><manifest:file-entry manifest:full-path='
         '"content.xml" manifest:media-type="text/xml"/><manifest:file-entry manifest:'
         'full-path="meta.xml" manifest:media-type="text/xml"/></manifest:manifest>'),
        ("meta.xml",
         '<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office='
         f'"{office}" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
         'xmlns:dc="http://purl.org/dc/elements/1.1/" office:version="1.2"><office:meta>'
         '<dc:title>Minutes title</dc:title><dc:creator>Olga Odf</dc:creator>'
         '<dc:language>en-GB</dc:language><meta:creation-date>2023-06-01T09:30:00'
         '</meta:creation-date><meta:document-statistic meta:page-count="2"/>'
         '</office:meta></office:document-meta>'),
        ("content.xml",
         f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{office}"'
         f' xmlns:text="{textns}" office:version="1.2"><office:body><office:text>'
         f'<text:p>{text}</text:p></office:text></office:body></office:document-content>'),
    ], stored_first=True)


def epub(text: str = "Hello zebra in an e-book", title: str = "Book title") -> bytes:
    """A minimal EPUB 2 book with one chapter."""
    return _zip([
        ("mimetype", "application/epub+zip"),
        ("META-INF/container.xml",
         '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:'
         'xmlns:container"><rootfiles><rootfile full-path="content.opf" media-type='
         '"application/oebps-package+xml"/></rootfiles></container>'),
        ("content.opf",
         '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="2.0" '
         'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
         f'<dc:title>{title}</dc:title><dc:identifier id="id">x</dc:identifier>'
         '<dc:language>en</dc:language></metadata><manifest><item id="c1" href="c1.xhtml" '
         'media-type="application/xhtml+xml"/></manifest><spine><itemref idref="c1"/>'
         '</spine></package>'),
        ("c1.xhtml",
         '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>c1'
         f'</title></head><body><p>{text}</p></body></html>'),
    ], stored_first=True)


def rtf(text: str = "Hello zebra in RTF") -> bytes:
    """A small RTF document."""
    return ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}{\\info{\\title RTF title}}"
            f"\\f0\\fs24 {text}\\par}}").encode("ascii")


def html(text: str = "Hello zebra in HTML", title: str = "Page title") -> bytes:
    """A small HTML page."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><h1>Heading</h1><p>{text}</p><script>var hidden = 1;</script></body>"
            "</html>").encode()


def eml(text: str = "Hello zebra by e-mail", subject: str = "Mail subject") -> bytes:
    """A small RFC 822 message with a text attachment."""
    return ("From: Ann <ann@example.com>\r\nTo: Bob <bob@example.com>\r\n"
            f"Subject: {subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
            f"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            "--XX\r\nContent-Type: text/plain; name=notes.txt\r\n"
            "Content-Disposition: attachment; filename=notes.txt\r\n\r\n"
            "attached okapi notes\r\n--XX--\r\n").encode()


def png(width: int = 7, height: int = 5) -> bytes:
    """A grey PNG image of ``width`` x ``height`` pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                             0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _text_image(text: str, width: int = 1200, height: int = 220, size: int = 72):
    """A white image with ``text`` drawn large in black (Pillow's built-in scalable font,
    so no system font is needed), as a scanner would see a printed line."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (width, height), 255)
    ImageDraw.Draw(img).text((40, (height - size) // 2), text,
                             font=ImageFont.load_default(size=size), fill=0)
    return img


def scanned_png(text: str = "Quokka harbour") -> bytes:
    """A PNG whose only text is ``text`` as pixels (OCR finds it, nothing else can)."""
    buf = io.BytesIO()
    _text_image(text).save(buf, format="PNG")
    return buf.getvalue()


def scanned_pdf(text: str = "Wombat burrow", pages: int = 1) -> bytes:
    """An image-only PDF (no text layer): each of ``pages`` pages is a picture of ``text``,
    as a scanner without OCR writes them."""
    buf = io.BytesIO()
    images = [_text_image(f"{text} {page + 1}") for page in range(pages)]
    images[0].save(buf, format="PDF", save_all=True, append_images=images[1:], resolution=150)
    return buf.getvalue()


def dense_page_png(lines: int = 120, seed: int = 1) -> bytes:
    """A page of small dense text that tesseract needs seconds to read (time budget tests)."""
    import random

    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "lambda",
             "sigma", "omega"]
    img = Image.new("L", (2400, 40 + 26 * lines), 255)
    draw, font = ImageDraw.Draw(img), ImageFont.load_default(size=18)
    for line in range(lines):
        draw.text((30, 20 + 26 * line), " ".join(rng.choice(words) for _ in range(28)),
                  font=font, fill=0)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
