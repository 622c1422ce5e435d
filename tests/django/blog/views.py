"""Blog request handlers: N+1 loops over relations with related_name, their fixed twins, a borderline loop.

As in shop/handlers.py, `# loop: <handler>` marks the line that runs the repeated query (the call
site) and `# drives: <handler>` the line of the loop when the query runs in a function it calls.
Each handler's list query has its own ORDER BY, so that its loops are told apart in any log.
"""
from django.db.models import Count, Exists, OuterRef, Prefetch

from blog.models import Author, Category, Comment, Post, Tag

ROWS = 8


def post_authors():
    for post in Post.objects.order_by("id")[:ROWS]:
        post.author.name  # loop: post_authors


def post_authors_fixed():
    for post in Post.objects.select_related("author").order_by("id")[:ROWS]:
        post.author.name


def post_author_profiles():
    for post in Post.objects.order_by("-id")[:ROWS]:
        post.author.profile.website  # loop: post_author_profiles


def post_comments():
    for post in Post.objects.order_by("title")[:ROWS]:
        list(post.comments.all())  # loop: post_comments


def post_comments_fixed():
    for post in Post.objects.prefetch_related("comments").order_by("title")[:ROWS]:
        list(post.comments.all())


def comment_counts():
    for post in Post.objects.order_by("-title")[:ROWS]:
        post.comment_count()  # drives: comment_counts


def comment_counts_fixed():
    for post in Post.objects.annotate(Count("comments")).order_by("-title")[:ROWS]:
        post.comments__count


def has_comments():
    for post in Post.objects.order_by("views", "id")[:ROWS]:
        post.comments.exists()  # loop: has_comments


def comments_with_authors():
    for post in Post.objects.order_by("category_id", "id")[:ROWS]:
        for comment in post.comments.all():  # loop: comments_with_authors
            comment.author.name  # loop: comments_with_authors


def comments_with_authors_fixed():
    comments = Prefetch("comments", queryset=Comment.objects.select_related("author"))
    for post in Post.objects.prefetch_related(comments).order_by("category_id", "id")[:ROWS]:
        for comment in post.comments.all():
            comment.author.name


def post_tags():
    for post in Post.objects.order_by("-views", "id")[:ROWS]:
        list(post.tags.all())  # loop: post_tags


def tag_posts():
    for tag in Tag.objects.order_by("name"):
        list(tag.posts.all())  # loop: tag_posts


def category_lookup():
    for category_id in [1, 2, 3, 4, 5, 6]:
        Category.objects.get(pk=category_id)  # loop: category_lookup


def publish_drafts():
    for post in Post.objects.filter(published=False).order_by("id")[:ROWS]:
        post.published = True
        post.save(update_fields=["published"])  # loop: publish_drafts


def bump_views():
    for post in Post.objects.order_by("-category_id", "id")[:ROWS]:
        post.views += 1
        post.save(update_fields=["views"])  # loop: bump_views


def add_comments():
    author = Author.objects.order_by("-id").first()
    for post in Post.objects.order_by("title", "id")[:ROWS]:
        Comment.objects.create(post=post, author=author, body="nice")  # loop: add_comments


def borderline_three():
    # Three repeats: below min_repeats (5), not reported.
    for post in Post.objects.order_by("-views", "-id")[:3]:
        post.author.name


HANDLERS = [
    post_authors, post_authors_fixed, post_author_profiles, post_comments, post_comments_fixed, comment_counts,
    comment_counts_fixed, has_comments, comments_with_authors, comments_with_authors_fixed, post_tags, tag_posts,
    category_lookup, publish_drafts, bump_views, add_comments, borderline_three,
]


def create_data():
    from blog import models

    profiles = models.Profile.objects.bulk_create([models.Profile(website="https://a%d.example" % i) for i in range(6)])
    authors = models.Author.objects.bulk_create(
        [models.Author(name="writer %d" % i, profile=profiles[i]) for i in range(6)])
    categories = models.Category.objects.bulk_create([models.Category(name="cat %d" % i) for i in range(6)])
    tags = models.Tag.objects.bulk_create([models.Tag(name="label %d" % i) for i in range(6)])
    posts = models.Post.objects.bulk_create([
        models.Post(title="post %02d" % i, author=authors[i % 6], category=categories[i % 6], views=i)
        for i in range(12)])
    through = models.Post.tags.through
    through.objects.bulk_create([through(post_id=p.id, tag_id=tags[(p.id + k) % 6].id) for p in posts for k in range(2)])
    models.Comment.objects.bulk_create([
        models.Comment(post=posts[i % 12], author=authors[(i * 5) % 6], body="comment %d" % i) for i in range(36)])


def model_classes():
    from blog import models
    return [models.Profile, models.Author, models.Category, models.Tag, models.Post, models.Comment]
