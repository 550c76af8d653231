"""Musical metrics of samples and generations, with the validation data and an n-gram as references."""
