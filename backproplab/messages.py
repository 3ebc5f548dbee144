"""Every sentence the library and the checks show a student, in one place.

Code asks for a message by key, ``text("numeric.not_callable", got="int")``,
and gets it in the course's language. The language is read from the
environment variable ``BACKPROPLAB_LANG`` ("en" by default, "pt_BR" for the
Portuguese edition); a key missing from a translation falls back to English.
Keys are grouped by a prefix: ``numeric.`` for the numeric module, ``check.``
for the autograder, ``plot.`` for plot labels.

tests/test_messages.py keeps the catalogues consistent: every translated key
exists in English and uses the same ``{placeholders}``.
"""

import os

EN = {
    # -- numeric module ----------------------------------------------------
    "numeric.not_callable": "f must be a function (something you can call, like f(x)); got {got}.",
    "numeric.not_real": "{name} must be a real number or an array of real numbers (int or float); got {got}.",
    "numeric.not_finite": "{name} must contain only finite numbers; it contains {count} NaN or inf value(s), the first at {where}.",
    "numeric.not_scalar": "{name} must be a single number; got an array of shape {shape}.",
    "numeric.bad_step": "h must be a positive finite number; got {got}.",
    "numeric.bad_steps": "h must be a positive finite number, or an array of them with the shape of x, {shape}; got {got}.",
    "numeric.step_vanished": "h = {h} is too small for {where} = {value}: in float64, x + h and x - h are the same number, so the step actually taken is 0.",
    "numeric.f_not_real": "f must return real numbers (float or int); it returned {got}.",
    "numeric.f_not_number": "f must return a number; it returned {got}.",
    "numeric.f_not_scalar": "f must return a single number; it returned an array of shape {shape}.",
    "numeric.f_not_finite": "f must return finite numbers; it returned {value} at the perturbed point where {where} = {point}.",
    "numeric.f_not_finite_direction": "f must return finite numbers; it returned {value} at the perturbed point x {sign} h*u, with h = {h}.",
    "numeric.f_shape_changed": "f must always return the same shape; it returned shape {first} and then shape {got}.",
    "numeric.dout_shape": "dout must have the shape of f(x), {expected}; got shape {got}.",
    "numeric.u_shape": "u must have the shape of x, {expected}; got shape {got}.",
    "numeric.shape_mismatch": "{a_name} and {b_name} must have the same shape (or shapes that broadcast); got {a_shape} and {b_shape}.",
    # -- checks (autograder) ------------------------------------------------
    "check.unknown_params": "check_{check} got unknown parameters: {got}. It takes: {expected}.",
    "check.not_callable": "{what}: the test expected a function here, but got a {got}. Did you run the cell that defines it?",
    "check.evidence_count": "check_{check}: expected {expected} recorded results, got {got}.",
    "check.malformed": "the recorded result is malformed ({why}).",
    "check.raised": "{what} raised {type}: {message}",
    "check.failed": "{what} is wrong on {case} (seed {seed}).\n{why}",
    "check.passed": "OK {what}: {cases} cases agree with the reference (largest error score {score:.2g}; 1 is the limit; seed {seed}).",
    "check.inconclusive": "note: {case} was inconclusive ({why}) and was not counted.",
    "check.expected_number": "{what} should return a single number; it returned {got}.",
    "check.not_finite": "{what} returned {got}, which is not a finite number.",
    "check.expected_array": "{what} should return a numpy array of shape {shape}; it returned {got}.",
    "check.wrong_shape": "{what} returned an array of shape {got}; expected shape {expected}.{hint}",
    "check.hint_transpose": " That is the transpose of the expected shape.",
    "check.not_finite_entries": "{what} returned {count} entries that are NaN or infinite (the first at index {index}).",
    "check.describe_array": "an array of shape {shape} and dtype {dtype}",
    "check.describe_tuple": "a tuple of {count} values",
    "check.mismatch": "{what} does not match the reference: largest error score {score:.3g} (at most 1 passes).",
    "check.entry_scalar": "Expected {expected:.10g}, got {got:.10g}.",
    "check.entries_wrong": "{wrong} of {total} entries are wrong; the worst (index: expected, got, score):",
    "check.entry_row": "  {index}: {expected:.8g}, {got:.8g}, {score:.3g}",
    "check.case_point": "{function} at x = {x:.6g}",
    "check.case_vector": "{function} at the random point #{index} of size {n}",
    "check.case_step": "{function} at x = {x:.6g} with h = {h:g}",
    "check.no_evidence": "no evidence was recorded for check_{check} with {params}: the test cell did not run to this check.",
    "check.no_calls": "this graded cell calls no check.",
    "mistake.sign": "Likely mistake: the sign is flipped (your values are -1 times the expected ones).",
    "mistake.factor_two": "Likely mistake: a factor of two (your values are {factor:.3g} times the expected ones).",
    "mistake.missing_mean": "Likely mistake: a missing 1/{name} (your values are {name} = {factor:.3g} times the expected ones).",
    "mistake.extra_mean": "Likely mistake: an extra division by {name} (your values are 1/{name} = {factor:.3g} times the expected ones).",
    "mistake.sign_and_mean": "Likely mistakes: a flipped sign and a missing or extra 1/{name} (your values are {factor:.3g} times the expected ones).",
    "mistake.multiple": "Your values are {factor:.4g} times the expected ones: a constant factor is wrong.",
    "mistake.transposed": "Likely mistake: your matrix is the transpose of the expected one.",
    "mistake.returned_value": "Likely mistake: this is f(x) itself, not its derivative.",
    "mistake.diagonal_only": "Likely mistake: only the diagonal is filled; the off-diagonal entries df_j/dx_i (j != i) are missing.",
    "mistake.forward_difference": "Likely mistake: this is the forward difference (f(x + h) - f(x)) / h; the central one uses x + h and x - h.",
    "mistake.backward_difference": "Likely mistake: this is the backward difference (f(x) - f(x - h)) / h; the central one uses x + h and x - h.",
    "mistake.divided_by_h": "Likely mistake: dividing by h; the points x - h and x + h are 2h apart.",
    "mistake.precedence": "Likely mistake: missing parentheses; only f(x - h) was divided by 2h.",
    "mistake.step_squared": "Likely mistake: dividing by 2h^2; a difference quotient divides by the distance 2h.",
    "mistake.ignored_h": "Likely mistake: the step h passed in was ignored (a fixed step was used instead).",
    # -- notebook 01 (gradient intuition) --------------------------------------
    # -- notebooks 02 and 03 (chain rule, graphs, Value) ------------------------
    # -- plots ----------------------------------------------------------------------
}

PT_BR = {
    # -- numeric module ----------------------------------------------------
    "numeric.not_callable": "f deve ser uma função (algo que se possa chamar, como f(x)); recebi {got}.",
    "numeric.not_real": "{name} deve ser um número real ou um array de números reais (int ou float); recebi {got}.",
    "numeric.not_finite": "{name} deve conter apenas números finitos; contém {count} valor(es) NaN ou inf, o primeiro em {where}.",
    "numeric.not_scalar": "{name} deve ser um único número; recebi um array de formato {shape}.",
    "numeric.bad_step": "h deve ser um número positivo e finito; recebi {got}.",
    "numeric.bad_steps": "h deve ser um número positivo e finito, ou um array desses números com o formato de x, {shape}; recebi {got}.",
    "numeric.step_vanished": "h = {h} é pequeno demais para {where} = {value}: em float64, x + h e x - h são o mesmo número, então o passo efetivamente dado é 0.",
    "numeric.f_not_real": "f deve retornar números reais (float ou int); retornou {got}.",
    "numeric.f_not_number": "f deve retornar um número; retornou {got}.",
    "numeric.f_not_scalar": "f deve retornar um único número; retornou um array de formato {shape}.",
    "numeric.f_not_finite": "f deve retornar números finitos; retornou {value} no ponto perturbado em que {where} = {point}.",
    "numeric.f_not_finite_direction": "f deve retornar números finitos; retornou {value} no ponto perturbado x {sign} h*u, com h = {h}.",
    "numeric.f_shape_changed": "f deve retornar sempre o mesmo formato; retornou o formato {first} e depois o formato {got}.",
    "numeric.dout_shape": "dout deve ter o formato de f(x), {expected}; recebi o formato {got}.",
    "numeric.u_shape": "u deve ter o formato de x, {expected}; recebi o formato {got}.",
    "numeric.shape_mismatch": "{a_name} e {b_name} devem ter o mesmo formato (ou formatos compatíveis por broadcasting); recebi {a_shape} e {b_shape}.",
    # -- checks (autograder) ------------------------------------------------
    "check.unknown_params": "check_{check} recebeu parâmetros desconhecidos: {got}. Ele aceita: {expected}.",
    "check.not_callable": "{what}: o teste esperava uma função aqui, mas recebeu um {got}. Você executou a célula que a define?",
    "check.evidence_count": "check_{check}: esperava {expected} resultados registrados, recebeu {got}.",
    "check.malformed": "o resultado registrado está malformado ({why}).",
    "check.raised": "{what} lançou {type}: {message}",
    "check.failed": "{what} está errada em {case} (semente {seed}).\n{why}",
    "check.passed": "OK {what}: {cases} casos conferem com a referência (maior escore de erro {score:.2g}; o limite é 1; semente {seed}).",
    "check.inconclusive": "nota: {case} foi inconclusivo ({why}) e não foi contado.",
    "check.expected_number": "{what} deveria devolver um único número; devolveu {got}.",
    "check.not_finite": "{what} devolveu {got}, que não é um número finito.",
    "check.expected_array": "{what} deveria devolver um array numpy de formato {shape}; devolveu {got}.",
    "check.wrong_shape": "{what} devolveu um array de formato {got}; o esperado era {expected}.{hint}",
    "check.hint_transpose": " Esse é o formato transposto do esperado.",
    "check.not_finite_entries": "{what} devolveu {count} entradas NaN ou infinitas (a primeira no índice {index}).",
    "check.describe_array": "um array de formato {shape} e dtype {dtype}",
    "check.describe_tuple": "uma tupla de {count} valores",
    "check.mismatch": "{what} não confere com a referência: maior escore de erro {score:.3g} (passa com no máximo 1).",
    "check.entry_scalar": "Esperado {expected:.10g}, obtido {got:.10g}.",
    "check.entries_wrong": "{wrong} de {total} entradas estão erradas; as piores (índice: esperado, obtido, escore):",
    "check.entry_row": "  {index}: {expected:.8g}, {got:.8g}, {score:.3g}",
    "check.case_point": "{function} em x = {x:.6g}",
    "check.case_vector": "{function} no ponto aleatório nº {index} de tamanho {n}",
    "check.case_step": "{function} em x = {x:.6g} com h = {h:g}",
    "check.no_evidence": "nenhuma evidência foi registrada para check_{check} com {params}: a célula de teste não chegou a esta verificação.",
    "check.no_calls": "esta célula avaliada não chama nenhuma verificação.",
    "mistake.sign": "Erro provável: o sinal está trocado (seus valores são -1 vezes os esperados).",
    "mistake.factor_two": "Erro provável: um fator dois (seus valores são {factor:.3g} vezes os esperados).",
    "mistake.missing_mean": "Erro provável: falta dividir por {name} (seus valores são {name} = {factor:.3g} vezes os esperados).",
    "mistake.extra_mean": "Erro provável: uma divisão a mais por {name} (seus valores são 1/{name} = {factor:.3g} vezes os esperados).",
    "mistake.sign_and_mean": "Erros prováveis: o sinal trocado e um 1/{name} faltando ou sobrando (seus valores são {factor:.3g} vezes os esperados).",
    "mistake.multiple": "Seus valores são {factor:.4g} vezes os esperados: há um fator constante errado.",
    "mistake.transposed": "Erro provável: sua matriz é a transposta da esperada.",
    "mistake.returned_value": "Erro provável: isto é o próprio f(x), não a sua derivada.",
    "mistake.diagonal_only": "Erro provável: só a diagonal foi preenchida; faltam as entradas df_j/dx_i fora da diagonal (j != i).",
    "mistake.forward_difference": "Erro provável: esta é a diferença progressiva (f(x + h) - f(x)) / h; a central usa x + h e x - h.",
    "mistake.backward_difference": "Erro provável: esta é a diferença regressiva (f(x) - f(x - h)) / h; a central usa x + h e x - h.",
    "mistake.divided_by_h": "Erro provável: dividir por h; os pontos x - h e x + h estão a 2h de distância.",
    "mistake.precedence": "Erro provável: faltam parênteses; só f(x - h) foi dividido por 2h.",
    "mistake.step_squared": "Erro provável: dividir por 2h^2; um quociente de diferenças divide pela distância 2h.",
    "mistake.ignored_h": "Erro provável: o passo h recebido foi ignorado (usou-se um passo fixo).",
    # -- notebook 01 (gradient intuition) --------------------------------------
    # -- notebooks 02 and 03 (chain rule, graphs, Value) ------------------------
    # -- plots ----------------------------------------------------------------------
}

CATALOGUES = {"en": EN, "pt_BR": PT_BR}


def language():
    """The language in force: ``BACKPROPLAB_LANG`` if it names a catalogue, else "en"."""
    lang = os.environ.get("BACKPROPLAB_LANG", "en").replace("-", "_")
    return lang if lang in CATALOGUES else "en"


def text(key, **fields):
    """The message ``key`` in the current language, with ``fields`` filled in."""
    template = CATALOGUES[language()].get(key) or EN[key]
    return template.format(**fields)
