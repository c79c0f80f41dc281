/**
 * Chats as prompt text: a model's Jinja chat template ({@link dev.ultrakv.chat.ChatTemplate}, GGUF
 * {@code tokenizer.chat_template}) or, for a model without one, the {@link dev.ultrakv.chat.PlainChatFormat}.
 * The CLI ({@code ultrakv template}, {@code ultrakv chat}) and the server render through the same classes.
 *
 * <h2>Where the renderer still differs from jinja2</h2>
 * Templates render on Jinjava with the extensions {@link dev.ultrakv.chat.ChatTemplate} lists; every template and
 * conversation of the test set (llama.cpp's, with jinja2's renders) renders byte for byte. Compared on further
 * snippets with jinja2 3.1.6, these differences remain; Jinjava's parser and printer decide them, and its
 * extension points (tags, filters, functions, expression tests, the EL resolver) do not reach them:
 * <ul>
 *   <li>printing a value that is not a string: None prints nothing (jinja2: {@code None}), booleans
 *       {@code true}/{@code false} (jinja2: {@code True}/{@code False}), lists and dicts as Java writes them
 *       ({@code [1, a]}, {@code {a=1}}; jinja2: {@code [1, 'a']}, {@code {'a': 1}});</li>
 *   <li>undefined values: {@code 'a' + undefined} gives {@code anull} and an attribute of an undefined value gives
 *       nothing, where jinja2 fails ({@code UndefinedError}); {@code x is none} holds for a missing attribute and
 *       {@code tools is defined} fails for the {@code tools} passed as None (jinja2: the reverse);</li>
 *   <li>syntax Jinjava does not parse: {@code {% filter %}} blocks (the firefunction-v2 template is refused for
 *       this, where jinja2 refuses it for its undefined {@code functions}), tuples ({@code (1,)}), extended
 *       slices ({@code [::-1]}), string repetition ({@code 'x' * 3}), and <code>&#125;&#125;</code> closing a
 *       dict inside an expression ({@code {{ {'a': {}} }}});</li>
 *   <li>filters and tests: {@code max} and {@code min} of a list give nothing, {@code sort(attribute=...)}
 *       ignores the attribute, {@code round} gives an integer, {@code none | default(x)} gives {@code x},
 *       {@code 'x' is iterable} is false, and {@code a and b} gives a boolean rather than {@code b}.</li>
 * </ul>
 */
package dev.ultrakv.chat;
