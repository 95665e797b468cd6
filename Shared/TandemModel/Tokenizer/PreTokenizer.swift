/// Splits text into the words BPE then merges within, as llama.cpp does for each
/// `tokenizer.ggml.pre` value. The regular expressions are hand-coded over Unicode scalars, like
/// llama.cpp's `unicode_regex_split_custom_*`, so that the categories (`\p{L}`, `\p{N}`, `\s`)
/// and the look-ahead `\s+(?!\S)` behave exactly the same.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2 = "gpt2"
    /// Every digit alone (`\p{N}`), then `gpt2` within what lies between.
    case smollm = "smollm"
    /// Llama 3's: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`,
    /// ` ?[^\s\p{L}\p{N}]+[\r\n]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`.
    case llamaBPE = "llama-bpe"

    /// The pre-tokenizer named by `tokenizer.ggml.pre`; "default" reads as gpt2.
    public init?(ggufName: String) {
        switch ggufName {
        case "gpt2", "default": self = .gpt2
        case "smollm": self = .smollm
        case "llama-bpe", "llama3": self = .llamaBPE
        default: return nil
        }
    }

    struct Flags {
        var letter = false, number = false, whitespace = false, defined = false
    }

    static func flags(_ s: Unicode.Scalar?) -> Flags {
        guard let s else { return Flags() }
        var f = Flags()
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: f.letter = true
        case .decimalNumber, .letterNumber, .otherNumber: f.number = true
        case .unassigned: return Flags(whitespace: s.properties.isWhitespace, defined: s.properties.isWhitespace)
        default: break
        }
        f.whitespace = s.properties.isWhitespace
        f.defined = true
        return f
    }

    /// The words of `text`, as ranges of its scalars.
    public func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var words: [String] = []
        func emit(_ r: Range<Int>) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: scalars[r])
            words.append(String(v))
        }
        switch self {
        case .gpt2:
            for r in Self.splitGPT2(scalars, 0..<scalars.count) { emit(r) }
        case .llamaBPE:
            for r in Self.splitLlama3(scalars, 0..<scalars.count) { emit(r) }
        case .smollm:
            var start = 0
            for i in 0..<scalars.count where Self.flags(scalars[i]).number {
                for r in Self.splitGPT2(scalars, start..<i) { emit(r) }
                emit(i..<i + 1)
                start = i + 1
            }
            for r in Self.splitGPT2(scalars, start..<scalars.count) { emit(r) }
        }
        return words
    }

    /// Walks the scalars of one fragment and collects the words cut from it.
    struct Scanner {
        let scalars: [Unicode.Scalar]
        let end: Int
        private(set) var position: Int
        private var start: Int
        private(set) var words: [Range<Int>] = []

        init(scalars: [Unicode.Scalar], range: Range<Int>) {
            self.scalars = scalars
            end = range.upperBound
            position = range.lowerBound
            start = range.lowerBound
        }

        /// The scalar at the current position and its flags, until the end of the fragment.
        func next() -> (Unicode.Scalar, Flags)? {
            position < end ? (scalars[position], PreTokenizer.flags(scalars[position])) : nil
        }

        func scalar(at i: Int) -> Unicode.Scalar? { i < end ? scalars[i] : nil }
        func flags(at i: Int) -> Flags { PreTokenizer.flags(scalar(at: i)) }

        /// Ends the current word at `p` and continues from there.
        mutating func cut(at p: Int) {
            if p > start { words.append(start..<p) }
            start = p
            position = p
        }
    }

    /// The length of a contraction (`'s 't 'm 'd 're 've 'll`) at `pos`, if one starts there.
    static func contractionLength(_ s: [Unicode.Scalar], at pos: Int, end: Int, ignoringCase: Bool) -> Int? {
        guard s[pos] == "'", pos + 1 < end else { return nil }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            ignoringCase && c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c
        }
        let n = lower(s[pos + 1])
        if n == "s" || n == "t" || n == "m" || n == "d" { return 2 }
        guard pos + 2 < end else { return nil }
        let n2 = lower(s[pos + 2])
        return (n == "r" && n2 == "e") || (n == "v" && n2 == "e") || (n == "l" && n2 == "l") ? 3 : nil
    }

    /// The end of a run of scalars that are neither whitespace, letters nor numbers (nor unassigned).
    static func symbolRunEnd(from start: Int, flags fl: (Int) -> Flags) -> Int {
        var p = start
        while true {
            let g = fl(p)
            if g.whitespace || g.letter || g.number || !g.defined { return p }
            p += 1
        }
    }

    static func splitGPT2(_ s: [Unicode.Scalar], _ range: Range<Int>) -> [Range<Int>] {
        var scan = Scanner(scalars: s, range: range)
        while let (c, f) = scan.next() {
            let pos = scan.position, end = range.upperBound
            func at(_ i: Int) -> Unicode.Scalar? { scan.scalar(at: i) }
            func fl(_ i: Int) -> Flags { scan.flags(at: i) }
            func add(_ p: Int) { scan.cut(at: p) }
            if let n = contractionLength(s, at: pos, end: end, ignoringCase: false) { add(pos + n); continue }
            let f2 = c == " " ? fl(pos + 1) : f
            if f2.letter {
                var p = pos + (c == " " ? 1 : 0)
                while fl(p).letter { p += 1 }
                add(p); continue
            }
            if f2.number {
                var p = pos + (c == " " ? 1 : 0)
                while fl(p).number { p += 1 }
                add(p); continue
            }
            if !(f2.whitespace || f2.letter || f2.number) && f2.defined {
                let p = symbolRunEnd(from: pos + (c == " " ? 1 : 0), flags: fl)
                add(p); continue
            }
            var spaces = 0
            while fl(pos + spaces).whitespace { spaces += 1 }
            if spaces > 1 && pos + spaces < end { add(pos + spaces - 1); continue }
            if spaces > 0 { add(pos + spaces); continue }
            add(pos + 1)
        }
        return scan.words
    }

    static func splitLlama3(_ s: [Unicode.Scalar], _ range: Range<Int>) -> [Range<Int>] {
        var scan = Scanner(scalars: s, range: range)
        while let (c, f) = scan.next() {
            let pos = scan.position, end = range.upperBound
            func at(_ i: Int) -> Unicode.Scalar? { scan.scalar(at: i) }
            func fl(_ i: Int) -> Flags { scan.flags(at: i) }
            func add(_ p: Int) { scan.cut(at: p) }
            if let n = contractionLength(s, at: pos, end: end, ignoringCase: true) { add(pos + n); continue }
            if !(c == "\r" || c == "\n" || f.number) {
                if f.letter || fl(pos + 1).letter {
                    var p = pos + 1
                    while fl(p).letter { p += 1 }
                    add(p); continue
                }
            }
            if f.number {
                var p = pos
                while p - pos < 3 && fl(p).number { p += 1 }
                add(p); continue
            }
            let f2 = c == " " ? fl(pos + 1) : f
            if !(f2.whitespace || f2.letter || f2.number) && f.defined {
                var p = symbolRunEnd(from: pos + (c == " " ? 1 : 0), flags: fl)
                while let n = at(p), n == "\r" || n == "\n" { p += 1 }
                add(p); continue
            }
            var spaces = 0
            var lastNewlineEnd = 0
            while fl(pos + spaces).whitespace {
                let n = s[pos + spaces]
                if n == "\r" || n == "\n" { lastNewlineEnd = pos + spaces + 1 }
                spaces += 1
            }
            if lastNewlineEnd > 0 { add(lastNewlineEnd); continue }
            if spaces > 1 && pos + spaces < end { add(pos + spaces - 1); continue }
            if spaces > 0 { add(pos + spaces); continue }
            add(pos + 1)
        }
        return scan.words
    }
}
