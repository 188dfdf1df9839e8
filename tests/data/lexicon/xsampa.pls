<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" xml:lang="en">
  <lexeme>
    <grapheme>ok</grapheme>
    <alias>okay</alias>
  </lexeme>
  <lexeme>
    <grapheme>tomato</grapheme>
    <phoneme alphabet="x-sampa">t@"mA:t@U</phoneme>
  </lexeme>
</lexicon>
