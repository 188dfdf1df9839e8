<?xml version="1.0" encoding="UTF-8"?>
<!-- Hand-written: aliases, IPA phonemes, several graphemes per lexeme, a comment, an example. -->
<lexicon version="1.0"
      xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
      xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
      xsi:schemaLocation="http://www.w3.org/2005/01/pronunciation-lexicon
        http://www.w3.org/TR/2007/CR-pronunciation-lexicon-20071212/pls.xsd"
      alphabet="ipa" xml:lang="en-US">
  <lexeme>
    <grapheme>Nguyen</grapheme>
    <alias>Win</alias>
  </lexeme>
  <lexeme>
    <grapheme>AFK</grapheme>
    <grapheme>afk</grapheme>
    <alias>away from keyboard</alias>
  </lexeme>
  <lexeme>
    <grapheme>tomato</grapheme>
    <phoneme>təˈmɑːtoʊ</phoneme>
    <phoneme>təˈmeɪtoʊ</phoneme>
  </lexeme>
  <lexeme role="noun">
    <grapheme>Siobhán</grapheme>
    <grapheme>Siobhan</grapheme>
    <phoneme alphabet="ipa">ʃɪˈvɔːn</phoneme>
    <alias>Shi-vawn</alias>
    <example>Siobhán read the news.</example>
  </lexeme>
  <lexeme>
    <grapheme>W3C</grapheme>
    <alias>World Wide Web Consortium</alias>
  </lexeme>
</lexicon>
