"""Request handlers: each N+1 kind, its already-fixed twin, and patterns that must not be flagged.

A line ending in `# loop: <handler>` is where the repeated query runs; the test reads
these line numbers to check the call site dbopt reports. Every handler touches
ROWS rows, so a loop runs ROWS times.
"""
from django.db.models import Count, Exists, OuterRef, Prefetch

from shop.models import Author, Book, Card, Profile, Publisher, Reader, Review, Tag

ROWS = 8


def forward_fk():
    for book in Book.objects.order_by("id")[:ROWS]:
        book.author.name  # loop: forward_fk


def forward_fk_fixed():
    for book in Book.objects.select_related("author").order_by("id")[:ROWS]:
        book.author.name


def nested_fk():
    for book in Book.objects.order_by("-id")[:ROWS]:
        book.author.profile.bio  # loop: nested_fk


def nested_fk_partly_fixed():
    for book in Book.objects.select_related("author").order_by("-title")[:ROWS]:
        book.author.profile.bio  # loop: nested_fk_partly_fixed


def nested_fk_fixed():
    for book in Book.objects.select_related("author__profile").order_by("-id")[:ROWS]:
        book.author.profile.bio


def reverse_fk():
    for author in Author.objects.order_by("id")[:ROWS]:
        list(author.book_set.all())  # loop: reverse_fk


def reverse_fk_fixed():
    for author in Author.objects.prefetch_related("book_set").order_by("id")[:ROWS]:
        list(author.book_set.all())


def many_to_many():
    for book in Book.objects.order_by("title")[:ROWS]:
        list(book.tags.all())  # loop: many_to_many


def many_to_many_fixed():
    for book in Book.objects.prefetch_related("tags").order_by("title")[:ROWS]:
        list(book.tags.all())


def filtered_prefetch():
    for book in Book.objects.order_by("price", "id")[:ROWS]:
        list(book.review_set.filter(approved=True).select_related("reader"))  # loop: filtered_prefetch


def filtered_prefetch_fixed():
    approved = Review.objects.filter(approved=True).select_related("reader")
    books = Book.objects.prefetch_related(Prefetch("review_set", queryset=approved)).order_by("price", "id")
    for book in books[:ROWS]:
        list(book.review_set.all())


def count_per_row():
    for book in Book.objects.order_by("-price", "id")[:ROWS]:
        book.review_set.count()  # loop: count_per_row


def count_per_row_fixed():
    for book in Book.objects.annotate(Count("review")).order_by("-price", "id")[:ROWS]:
        book.review__count


def exists_per_row():
    for book in Book.objects.order_by("publisher_id", "id")[:ROWS]:
        book.review_set.exists()  # loop: exists_per_row


def exists_per_row_fixed():
    has_review = Exists(Review.objects.filter(book=OuterRef("pk")))
    for book in Book.objects.annotate(has_review=has_review).order_by("publisher_id", "id")[:ROWS]:
        book.has_review


def get_in_loop():
    for author_id in range(1, ROWS + 1):
        Author.objects.get(id=author_id)  # loop: get_in_loop


def get_in_loop_fixed():
    Author.objects.in_bulk(list(range(1, ROWS + 1)))


def reverse_one_to_one():
    for reader in Reader.objects.order_by("id")[:ROWS]:
        reader.card.number  # loop: reverse_one_to_one


def reverse_one_to_one_fixed():
    for reader in Reader.objects.select_related("card").order_by("id")[:ROWS]:
        reader.card.number


def insert_in_loop():
    reader = Reader.objects.order_by("id").first()
    for i in range(ROWS):
        Review.objects.create(book_id=i + 1, reader=reader, stars=i % 5, approved=False)  # loop: insert_in_loop


def insert_in_loop_fixed():
    reader = Reader.objects.order_by("id").first()
    Review.objects.bulk_create([Review(book_id=i + 1, reader=reader, stars=i % 5) for i in range(ROWS)])


def update_in_loop():
    for book in Book.objects.order_by("id")[:ROWS]:
        book.price += 1
        book.save()  # loop: update_in_loop


def update_in_loop_fixed():
    books = list(Book.objects.order_by("id")[:ROWS])
    for book in books:
        book.price += 1
    Book.objects.bulk_update(books, ["price"])


def delete_in_loop():
    for review in Review.objects.filter(stars=0).order_by("id")[:ROWS]:
        review.delete()  # loop: delete_in_loop


def delete_in_loop_fixed():
    Review.objects.filter(stars=1).delete()


# Patterns that look like loops but are not N+1.

def pagination():
    Book.objects.count()
    list(Book.objects.order_by("id")[:10])


def same_query_twice():
    Publisher.objects.get(id=1)
    Publisher.objects.get(id=1)


def same_values_repeated():
    # A missing cache, not a loop over rows: the very same query and values.
    for _ in range(ROWS):
        Publisher.objects.get(id=2)


def bulk_in_batches():
    Tag.objects.bulk_create([Tag(name="batch-%d" % i) for i in range(50)], batch_size=10)


def different_queries():
    for model in (Author, Book, Tag, Publisher, Reader, Card, Profile):
        model.objects.count()


HANDLERS = [
    forward_fk, forward_fk_fixed, nested_fk, nested_fk_partly_fixed, nested_fk_fixed, reverse_fk,
    reverse_fk_fixed, many_to_many, many_to_many_fixed, filtered_prefetch, filtered_prefetch_fixed, count_per_row,
    count_per_row_fixed, exists_per_row, exists_per_row_fixed, get_in_loop, get_in_loop_fixed, reverse_one_to_one,
    reverse_one_to_one_fixed, insert_in_loop, insert_in_loop_fixed, update_in_loop, update_in_loop_fixed,
    delete_in_loop, delete_in_loop_fixed, pagination, same_query_twice, same_values_repeated, bulk_in_batches,
    different_queries,
]
