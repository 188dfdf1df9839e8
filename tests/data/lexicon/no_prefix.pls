<?xml version="1.0" encoding="UTF-8"?>
<pls:lexicon xmlns:pls="http://www.w3.org/2005/01/pronunciation-lexicon" version="1.0" alphabet="ipa" xml:lang="en-GB">
<pls:lexeme><pls:grapheme>Leicester</pls:grapheme><pls:phoneme>ˈlɛstə</pls:phoneme></pls:lexeme>
<pls:lexeme><pls:grapheme>Worcestershire</pls:grapheme><pls:alias>Wuster-sher</pls:alias></pls:lexeme>
</pls:lexicon>
